"""Trains the damage segmentation network on CPU and exports it to ONNX with its model card.

    /usr/bin/python3 experiment/make_dataset.py          # once: renders experiment/data/
    /usr/bin/python3 experiment/train.py [--minutes 45] [--widths ...] [--crop HxW]  # trains, evaluates, exports

Debian's system Python is the one that sees Debian's python3-torch and python3-onnx. Training
uses random 256x128 crops (half of them centred on damage) of the 512x256 preprocessed photos,
cross-entropy with class weights, Adam and a cosine learning-rate decay, for a fixed time
budget. It then measures per-class IoU and Dice on the held-out set at full size and writes:

- models/damage-seg.onnx (opset 13, input "image" N x 3 x 512 x 256, output "logits" N x 6 x 512 x 256);
- models/damage-seg.metrics.json and models/MODEL_CARD.md.
"""
import argparse
import hashlib
import json
import pathlib
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gradeline_experiment import preprocess, synth  # noqa: E402
from gradeline_experiment.model import DamageUNet  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


def augment(image, rng):
    """Train-time changes a kiosk photo may show that the renderer did not draw: exposure,
    contrast, colour balance, noise, and now and then grey."""
    x = image.astype(np.float32)
    x = (x - 128) * rng.uniform(0.75, 1.25) + 128 + rng.uniform(-25, 25)
    x *= rng.uniform(0.94, 1.06, 3).astype(np.float32)
    if rng.random() < 0.5:
        x += rng.normal(0, rng.uniform(0, 5), x.shape).astype(np.float32)
    if rng.random() < 0.08:
        x[:] = x.mean(-1, keepdims=True)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def batches(images, labels, rng, batch, crop):
    """Random crops, half of them centred on a damage pixel, flipped either way and augmented."""
    ch, cw = crop
    n, h, w = labels.shape
    damage_pixels = [np.argwhere(labels[i] >= synth.CRACK) for i in range(n)]
    while True:
        xs, ys = [], []
        for _ in range(batch):
            i = int(rng.integers(n))
            if rng.random() < 0.5 and len(damage_pixels[i]):
                cy, cx = damage_pixels[i][rng.integers(len(damage_pixels[i]))]
                top = int(np.clip(cy - ch // 2 + rng.integers(-ch // 4, ch // 4 + 1), 0, h - ch))
                left = int(np.clip(cx - cw // 2 + rng.integers(-cw // 4, cw // 4 + 1), 0, w - cw))
            else:
                top, left = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
            image = images[i, top:top + ch, left:left + cw]
            label = labels[i, top:top + ch, left:left + cw]
            if rng.random() < 0.5:
                image, label = image[:, ::-1], label[:, ::-1]
            if rng.random() < 0.3:
                image, label = image[::-1], label[::-1]
            xs.append(preprocess.to_model_input(augment(image, rng)))
            ys.append(label.astype(np.int64))
        yield torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def evaluate(model, images, labels, batch=8):
    """Per-class IoU and Dice over the whole set, from the argmax of the logits."""
    classes = len(synth.CLASSES)
    intersection, predicted, actual = np.zeros(classes), np.zeros(classes), np.zeros(classes)
    model.eval()
    with torch.no_grad():
        for start in range(0, len(images), batch):
            x = torch.from_numpy(np.stack([preprocess.to_model_input(im) for im in images[start:start + batch]]))
            prediction = model(x).argmax(1).numpy()
            truth = labels[start:start + batch]
            for c in range(classes):
                p, t = prediction == c, truth == c
                intersection[c] += np.logical_and(p, t).sum()
                predicted[c] += p.sum()
                actual[c] += t.sum()
    iou = intersection / np.maximum(predicted + actual - intersection, 1)
    dice = 2 * intersection / np.maximum(predicted + actual, 1)
    return {c: {"iou": round(float(iou[k]), 4), "dice": round(float(dice[k]), 4), "pixels": int(actual[k])}
            for k, c in enumerate(synth.CLASSES)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=45)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dice", type=float, default=0.5, help="weight of the soft Dice loss on the damage classes")
    parser.add_argument("--max-weight", type=float, default=30,
                        help="cap on a class's cross-entropy weight (the square root of its rarity); a lower cap "
                             "trades damage recall for precision")
    parser.add_argument("--widths", default="16,32,48,64",
                        help="encoder stages' channels, then the bottleneck's (16,32,48,64,96,128 is model.DEEP)")
    parser.add_argument("--crop", default="256x128", help="training crop, HxW (384x192 with the deep net)")
    parser.add_argument("--warm-start", default=None,
                        help="a state dict (such as experiment/data/damage-seg.pt) whose tensors of matching "
                             "name and shape start the training")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    data = ROOT / "experiment" / "data"
    train, val, val_synth = (np.load(data / f"{name}.npz") for name in ("train", "val", "val_synth"))
    made = data / "dataset.json"
    dataset_command = json.loads(made.read_text())["command"] if made.exists() else "experiment/make_dataset.py (arguments not recorded)"
    train_images, train_labels = train["images"], train["labels"]
    val_images, val_labels = val["images"], val["labels"]

    frequencies = np.bincount(train_labels.ravel(), minlength=len(synth.CLASSES)) / train_labels.size
    weights = np.clip((frequencies.max() / np.maximum(frequencies, 1e-6)) ** 0.5, 1, args.max_weight)
    print("class weights:", dict(zip(synth.CLASSES, np.round(weights, 2))))
    widths = tuple(int(w) for w in args.widths.split(","))
    model = DamageUNet(widths=widths)
    if args.warm_start:
        own = model.state_dict()
        loaded = {k: v for k, v in torch.load(args.warm_start).items() if k in own and own[k].shape == v.shape}
        model.load_state_dict(loaded, strict=False)
        print(f"warm start: {len(loaded)} of {len(own)} tensors from {args.warm_start}")
    crop = tuple(int(v) for v in args.crop.split("x"))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32))
    budget = args.minutes * 60
    start, step = time.time(), 0
    stream = batches(train_images, train_labels, rng, args.batch, crop)
    model.train()
    while time.time() - start < budget:
        progress = (time.time() - start) / budget
        for group in optimizer.param_groups:
            group["lr"] = args.lr * 0.5 * (1 + np.cos(np.pi * progress))
        x, y = next(stream)
        logits = model(x)
        loss = loss_fn(logits, y)
        if args.dice > 0:
            # Soft Dice on the rare damage classes, which cross-entropy alone underweights.
            probabilities = logits.softmax(1)[:, synth.CRACK:]
            truth = nn.functional.one_hot(y, len(synth.CLASSES)).permute(0, 3, 1, 2)[:, synth.CRACK:].float()
            overlap = (probabilities * truth).sum((0, 2, 3))
            dice = (2 * overlap + 1) / (probabilities.sum((0, 2, 3)) + truth.sum((0, 2, 3)) + 1)
            loss = loss + args.dice * (1 - dice.mean())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % 25 == 0:
            print(f"step {step} loss {loss.item():.4f} lr {optimizer.param_groups[0]['lr']:.5f} "
                  f"elapsed {time.time() - start:.0f}s", flush=True)

    torch.save(model.state_dict(), data / "damage-seg.pt")  # for fine-tuning later; not committed
    metrics = evaluate(model, val_images, val_labels)
    metrics_synth = evaluate(model, val_synth["images"], val_synth["labels"])
    print(json.dumps({"domain": metrics, "synth": metrics_synth}, indent=1))
    models = ROOT / "models"
    models.mkdir(exist_ok=True)
    onnx_path = models / "damage-seg.onnx"
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 3, 512, 256), onnx_path, opset_version=13,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    summary = {
        "model": "damage-seg", "file": "damage-seg.onnx", "sha256": digest, "classes": synth.CLASSES,
        "input": {"name": "image", "shape": ["batch", 3, 512, 256], "layout": "NCHW RGB",
                  "preprocess": "resize area to 256x512, x / 255, normalize mean [0.485, 0.456, 0.406] std [0.229, 0.224, 0.225]"},
        "output": {"name": "logits", "shape": ["batch", len(synth.CLASSES), 512, 256]},
        "training": {"seed": args.seed, "steps": step, "minutes": round((time.time() - start) / 60, 1),
                     "batch": args.batch, "crop": list(crop), "widths": list(widths), "warm_start": args.warm_start, "lr": args.lr, "threads": args.threads,
                     "dice_weight": args.dice, "max_weight": args.max_weight,
                     "train_photos": int(len(train_images)), "val_photos": int(len(val_images)),
                     "augment": "exposure, contrast, colour balance, noise, grey; horizontal and vertical flips",
                     "class_weights": [round(float(w), 3) for w in weights],
                     "torch": torch.__version__,
                     "commands": [dataset_command, "/usr/bin/python3 experiment/train.py " + " ".join(sys.argv[1:])]},
        "held_out_metrics": metrics,
        "held_out_metrics_synth": metrics_synth,
    }
    (models / "damage-seg.metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size} bytes, sha256 {digest})")


if __name__ == "__main__":
    main()
