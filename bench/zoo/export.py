"""Builds the zoo's models (bench/zoo/models.py) with seeded random weights and exports each to
ONNX, opset 13, input 'image' of Nx3x512x256 with a dynamic batch axis (one file serves batch 1
and 2), with the inputs the benchmark feeds them and a manifest.

    /usr/bin/python3 bench/zoo/export.py [--out bench/zoo/out] [--only NAME ...]

Needs Debian's python3-torch and python3-onnx (`apt-get install -y python3-torch python3-onnx`).
Writes OUT/NAME.onnx, OUT/input-b1.npy and OUT/input-b2.npy (seeded normal noise, the same for
every model), and OUT/manifest.json: per model its file, sha256, what it exercises, parameter
count, output shape at batch 1, the ops it uses, and the GFLOP of its convolutions and linear
layers at batch 1; plus the digest of this script and models.py, so that bench/zoo.sh remakes the zoo
when either changes.
"""
import argparse
import collections
import hashlib
import json
import pathlib
import sys

import numpy as np
import onnx
import torch
from torch import nn

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import models  # noqa: E402

INPUT_SHAPE = (3, 512, 256)


def source_digest():
    """The sha256 of the files that define the zoo; the manifest records it."""
    digest = hashlib.sha256()
    for name in ("export.py", "models.py"):
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()


def gflop(model, example):
    """2 x the multiply-adds of the convolutions and linear layers in one forward pass, counted
    by hooks on the modules (ONNX shape inference cannot follow every exported graph)."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += 2 * output.numel() * module.weight[0].numel()
        elif isinstance(module, nn.ConvTranspose2d):
            total += 2 * inputs[0].numel() * module.weight[0].numel()
        elif isinstance(module, nn.Linear):
            total += 2 * output.numel() * module.in_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    with torch.no_grad():
        model(example)
    for hook in hooks:
        hook.remove()
    return total / 1e9


def export(name, make, seed, out):
    torch.manual_seed(seed)
    model = make()
    models.randomize_batch_norms(model, torch.Generator().manual_seed(seed + 1))
    model.eval()
    path = out / f"{name}.onnx"
    example = torch.zeros(1, *INPUT_SHAPE)
    with torch.no_grad():
        output = model(example)
        torch.onnx.export(model, example, str(path), opset_version=13, input_names=["image"], output_names=["output"],
                          dynamic_axes={"image": {0: "batch"}, "output": {0: "batch"}}, do_constant_folding=True)
    graph = onnx.load(str(path)).graph
    ops = collections.Counter(node.op_type for node in graph.node)
    return {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "seed": seed,
        "parameters": sum(p.numel() for p in model.parameters()),
        "output_shape_batch1": list(output.shape),
        "ops": dict(sorted(ops.items())),
        "gflop_batch1": round(gflop(model, example), 3),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(HERE / "out"))
    parser.add_argument("--only", nargs="*", help="export only these models (the manifest keeps the others)")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    rng = np.random.default_rng(20261201)
    for batch in (1, 2):
        np.save(out / f"input-b{batch}.npy", rng.standard_normal((batch, *INPUT_SHAPE)).astype(np.float32))
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if args.only and manifest_path.exists() else {"models": {}}
    for index, (name, make, what) in enumerate(models.ZOO):
        if args.only and name not in args.only:
            continue
        entry = export(name, make, 1000 + index, out)
        entry["description"] = what
        manifest["models"][name] = entry
        print(f"{name}: {entry['gflop_batch1']} GFLOP at batch 1, {entry['parameters']} parameters, "
              f"ops {', '.join(entry['ops'])}", flush=True)
    if not args.only:
        # A partial export leaves the digest as it was, so that bench/zoo.sh still remakes the
        # other models when their sources changed.
        manifest["source_sha256"] = source_digest()
    manifest.update({
        "opset": 13,
        "input": {"name": "image", "shape": ["batch", *INPUT_SHAPE], "files": ["input-b1.npy", "input-b2.npy"]},
        "weights": "untrained: PyTorch's default initialization under each model's seed; BatchNorm statistics seeded at random",
        "torch": torch.__version__,
        "onnx": onnx.__version__,
    })
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
