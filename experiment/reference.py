"""Writes the parity fixtures: a sample photo preprocessed as the serving pipeline does, and the
logits onnxruntime computes for it with the shipped model.

    python3 experiment/reference.py      # needs onnxruntime (pip); run after train.py

Writes Tests/Fixtures/parity/{NAME}.input.npy (1 x 3 x 512 x 256) and {NAME}.logits.npy
(1 x 6 x 512 x 256) for each sample below. The Swift tests check that the worker's
preprocessing reproduces the input, and that its executor reproduces the logits.
"""
import pathlib
import sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gradeline_experiment import pngio, preprocess  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = ["phone-02-front"]


def main() -> None:
    out = ROOT / "Tests" / "Fixtures" / "parity"
    out.mkdir(parents=True, exist_ok=True)
    session = ort.InferenceSession(str(ROOT / "models" / "damage-seg.onnx"), providers=["CPUExecutionProvider"])
    for name in SAMPLES:
        photo = pngio.decode((ROOT / "samples" / f"{name}.png").read_bytes())
        x = preprocess.to_model_input(preprocess.resize_area(photo, 256, 512))[None]
        logits = session.run(None, {"image": x})[0]
        np.save(out / f"{name}.input.npy", x)
        np.save(out / f"{name}.logits.npy", logits)
        classes = np.bincount(logits.argmax(1).ravel(), minlength=logits.shape[1])
        print(f"{name}: input {x.shape}, logits {logits.shape}, argmax class counts {classes.tolist()}")


if __name__ == "__main__":
    main()
