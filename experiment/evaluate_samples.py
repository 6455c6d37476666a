"""Measures the shipped model on the sample photos in samples/ against their label maps, and
adds the table to models/damage-seg.metrics.json for the model card.

    python3 experiment/evaluate_samples.py     # needs onnxruntime (pip)
"""
import json
import pathlib
import sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gradeline_experiment import pngio, preprocess, synth  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main() -> None:
    session = ort.InferenceSession(str(ROOT / "models" / "damage-seg.onnx"), providers=["CPUExecutionProvider"])
    manifest = json.loads((ROOT / "samples" / "manifest.json").read_text())
    rows = []
    for photo in manifest["photos"]:
        image = pngio.decode((ROOT / "samples" / photo["file"]).read_bytes())
        labels = pngio.decode((ROOT / "samples" / "labels" / photo["file"]).read_bytes())
        x = preprocess.to_model_input(preprocess.resize_area(image, 256, 512))[None]
        predicted = session.run(None, {"image": x})[0].argmax(1)[0]
        truth = preprocess.resize_nearest(labels, 256, 512)
        row = {"file": photo["file"]}
        for index in (synth.CRACK, synth.SCRATCH, synth.CHIP):
            t, p = truth == index, predicted == index
            union = int((t | p).sum())
            row[synth.CLASSES[index]] = {"true_px": int(t.sum()), "predicted_px": int(p.sum()),
                                         "iou": round(float((t & p).sum() / union), 3) if union else None}
        rows.append(row)
        print(row)
    path = ROOT / "models" / "damage-seg.metrics.json"
    summary = json.loads(path.read_text())
    summary["samples"] = rows
    path.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
