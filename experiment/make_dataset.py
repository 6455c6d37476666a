"""Renders the training and validation sets: kiosk-resolution photos put through the serving
pipeline's preprocessing (area resize to 256x512), with labels resized by nearest.

    /usr/bin/python3 experiment/make_dataset.py [--train 1600] [--val 200] [--seed 1]

Writes experiment/data/{train,val}.npz (images N x 512 x 256 x 3 uint8, labels N x 512 x 256
uint8). The seed fixes everything; the held-out set uses seed + 1000.
"""
import argparse
import multiprocessing
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gradeline_experiment import preprocess, synth  # noqa: E402

WIDTH, HEIGHT = 256, 512


def render_one(args):
    seed, index = args
    rng = np.random.default_rng([seed, index])
    image, labels = synth.render(rng, synth.random_spec(rng))
    return preprocess.resize_area(image, WIDTH, HEIGHT), preprocess.resize_nearest(labels, WIDTH, HEIGHT)


def render_set(seed: int, count: int, workers: int):
    with multiprocessing.Pool(workers) as pool:
        pairs = pool.map(render_one, [(seed, i) for i in range(count)], chunksize=8)
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=1600)
    parser.add_argument("--val", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    out = pathlib.Path(__file__).resolve().parent / "data"
    out.mkdir(exist_ok=True)
    for name, seed, count in [("train", args.seed, args.train), ("val", args.seed + 1000, args.val)]:
        images, labels = render_set(seed, count, args.workers)
        np.savez(out / f"{name}.npz", images=images, labels=labels)
        counts = np.bincount(labels.ravel(), minlength=len(synth.CLASSES)) / labels.size
        print(f"{name}: {count} photos; class fractions " +
              ", ".join(f"{c} {f:.4f}" for c, f in zip(synth.CLASSES, counts)))


if __name__ == "__main__":
    main()
