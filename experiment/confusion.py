"""Where a model goes wrong on the golden set: per case, the damages drawn against those found,
and the pixel confusion by side. `gradeline-worker evaluate` gives the figures; this gives the
cases behind them.

    python3 experiment/confusion.py [--model models/damage-seg.onnx] [--all] [--min-area N]

It runs the experiment's own steps (preprocess, onnxruntime, damages.find_damages and the grade
rules of config/grading.yaml, with find_damages' params from config/pipeline.yaml, its smallest areas unless
--min-area gives one for every type) on each golden phone, photos decoded with Pillow, so its grades
can differ from the worker's by a case or two. Cases whose grade is not the expected one are
listed with their damages (T: drawn, F: found); --all lists every case.
"""
import argparse
import json
import pathlib
import sys

import numpy as np
import onnxruntime as ort
import yaml
from PIL import Image, ImageOps

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gradeline_experiment import damages, preprocess  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLASSES = ["background", "body", "screen", "crack", "scratch", "chip"]


def mask(session, path):
    """The model's labels for one photo, brought to the photo's size by nearest (as the worker)."""
    photo = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    x = preprocess.to_model_input(preprocess.resize_area(photo, 256, 512))
    logits = session.run(None, {session.get_inputs()[0].name: x[None] if x.ndim == 3 else x})[0][0]
    labels = logits.argmax(0).astype(np.uint8)
    h, w = photo.shape[:2]
    return labels[preprocess.nearest_indices(512, h)][:, preprocess.nearest_indices(256, w)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "damage-seg.onnx"))
    parser.add_argument("--golden", default=str(ROOT / "experiment" / "evalset" / "golden"))
    parser.add_argument("--min-area", type=int, default=None, help="one smallest area for every damage type")
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args()
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    rules = yaml.safe_load((ROOT / "config" / "grading.yaml").read_text())
    shipped = next(step["find_damages"] for pipe in yaml.safe_load((ROOT / "config" / "pipeline.yaml").read_text())["pipelines"].values()
                   for step in pipe if isinstance(step, dict) and "find_damages" in step)
    params = {key: shipped[key] for key in ("min_area_px", "edge_px", "corner_fraction", "moderate_ratio",
                                            "severe_ratio", "screen_sides", "min_area_px_by_type", "merge_types",
                                            "merge_weights", "retype_elongated", "elongation_limit") if key in shipped}
    if args.min_area is not None:
        params = {**params, "min_area_px": args.min_area, "min_area_px_by_type": {}}
    confusion = {side: np.zeros((6, 6), np.int64) for side in ("front", "back")}
    agree = total = 0
    for case in sorted(p for p in pathlib.Path(args.golden).iterdir() if p.is_dir()):
        truth = json.loads((case / "truth.json").read_text())
        if truth["kind"] != "phone":
            continue
        masks = {}
        for side, name in truth["photos"].items():
            masks[side] = mask(session, case / name)
            labels = np.asarray(Image.open(case / truth["labels"][side])).astype(np.int64)
            confusion[side] += np.bincount(labels.ravel() * 6 + masks[side].ravel(), minlength=36).reshape(6, 6)
        found, _ = damages.find_damages(masks, CLASSES, ["crack", "scratch", "chip"], **params)
        grade = damages.grade(rules, found)
        ok = grade["value"] == truth["expected"].get("grade")
        agree, total = agree + ok, total + 1
        if ok and not args.all:
            continue
        print(f"{truth['id']} {'ok ' if ok else 'BAD'} expected {truth['expected'].get('grade')}, got {grade['value']} "
              f"({grade['rule']}); strokes {truth['style']['damage_strokes']}, held out {truth['style']['held_out']}")
        for d in truth["damages"]:
            print(f"   T {d['side']:5} {d['type']:7} {d['zone']:6} {d['bbox']} area {d['area_px']}")
        for d in found:
            print(f"   F {d['side']:5} {d['type']:7} {d['zone']:6} {d['bbox']} area {d['area_px']}")
    print(f"grade agreement {agree}/{total}")
    for side, counts in confusion.items():
        print(f"{side}: rows are the truth, columns what the model said (fraction of the row)")
        print("  " + " " * 10 + " ".join(f"{c[:6]:>6}" for c in CLASSES))
        for i, name in enumerate(CLASSES):
            print(f"  {name:10}" + " ".join(f"{v:6.3f}" for v in counts[i] / max(1, counts[i].sum())))


if __name__ == "__main__":
    main()
