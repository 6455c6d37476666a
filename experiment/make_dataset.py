"""Renders the training and validation sets: kiosk-resolution photos put through the serving
pipeline's preprocessing (area resize to 256x512), with labels resized by nearest.

    /usr/bin/python3 experiment/make_dataset.py [--train 1500] [--synth-train 500] [--val 200] [--seed 1]

Most training photos come from the domain-randomized renderer (gradeline_experiment/domain.py),
rendered at 720x1440 or 540x1080; `--synth-train` more come from the original renderer
(synth.py), so that the model keeps its accuracy on the look it was first trained on.

Writes experiment/data/{train,val,val_synth}.npz (images N x 512 x 256 x 3 uint8, labels
N x 512 x 256 uint8). `val` is domain-randomized; `val_synth` is the original held-out set
(synth.py, seed + 1000), the set the first model's IoU was measured on. The seed fixes
everything.
"""
import argparse
import json
import multiprocessing
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gradeline_experiment import domain, preprocess, synth  # noqa: E402

WIDTH, HEIGHT = 256, 512


def render_one(args):
    renderer, seed, index = args
    rng = np.random.default_rng([seed, index])
    if renderer == "domain":
        height = 1440 if rng.random() < 0.5 else 1080
        if rng.random() < domain.EMPTY_FRACTION:
            image, labels = domain.render_empty(rng, height=height, width=height // 2)
        else:
            image, labels = domain.render(rng, domain.random_spec(rng), height=height, width=height // 2)
    else:
        image, labels = synth.render(rng, synth.random_spec(rng))
    return preprocess.resize_area(image, WIDTH, HEIGHT), preprocess.resize_nearest(labels, WIDTH, HEIGHT)


def render_set(jobs, workers: int):
    with multiprocessing.Pool(workers) as pool:
        pairs = pool.map(render_one, jobs, chunksize=4)
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=1500, help="domain-randomized training photos")
    parser.add_argument("--synth-train", type=int, default=500, help="training photos from synth.py")
    parser.add_argument("--val", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    out = pathlib.Path(__file__).resolve().parent / "data"
    out.mkdir(exist_ok=True)
    # The synth.py photos use seed + 2000 so that none repeats the original held-out set.
    sets = {
        "train": [("domain", args.seed, i) for i in range(args.train)]
        + [("synth", args.seed + 2000, i) for i in range(args.synth_train)],
        "val": [("domain", args.seed + 1000, i) for i in range(args.val)],
        "val_synth": [("synth", args.seed + 1000, i) for i in range(args.val)],
    }
    # train.py copies this into the model's metrics, so that the model can be made again.
    (out / "dataset.json").write_text(json.dumps({"command": "/usr/bin/python3 experiment/make_dataset.py " + " ".join(sys.argv[1:])}) + "\n")
    for name, jobs in sets.items():
        images, labels = render_set(jobs, args.workers)
        np.savez(out / f"{name}.npz", images=images, labels=labels)
        counts = np.bincount(labels.ravel(), minlength=len(synth.CLASSES)) / labels.size
        print(f"{name}: {len(jobs)} photos; class fractions " +
              ", ".join(f"{c} {f:.4f}" for c, f in zip(synth.CLASSES, counts)), flush=True)


if __name__ == "__main__":
    main()
