"""The smallest damage `find_damages` reports (`min_area_px`), chosen on the training renderer's
own validation set (experiment/data/val.npz, made by make_dataset.py), not on the golden set.

    python3 experiment/calibrate_min_area.py [--model models/damage-seg.onnx]

For each candidate area it counts, over the validation photos, the model's crack and scratch
components of at least that area that touch a drawn damage of their type (true) or none
(false), and the drawn damages that some such component touches (found). It prints precision,
recall and F1 per candidate, the areas given in pixels of a 720x1440 photo (the worker's
`min_area_px`; the validation set is at the model's 256x512, so areas scale by (720/256)^2).
The areas assume the kiosk's 720x1440 photos (find_damages counts photo pixels, so larger
photos need larger areas). The validation set is whichever make_dataset.py wrote last (run 11's
figures below are from `--seed 11`). A drawn damage is counted per connected piece, so a shattered corner counts several times;
read the figures as a comparison between candidates. About 15 s.

With run 11 (docs/model.md): crack F1 0.44 at 150 px, 0.49 at 400, 0.53 at 600 and 800;
scratch F1 0.46 from 50 to 150, then falling (0.38 at 300). Hence `min_area_px: 150` with
`min_area_px_by_type: {crack: 600}` in config/pipeline.yaml.
"""
import argparse
import pathlib
import sys

import numpy as np
import onnxruntime as ort
from scipy import ndimage

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gradeline_experiment import preprocess  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRACK, SCRATCH = 3, 4
SCALE = (720 / 256) * (1440 / 512)
CANDIDATES = [50, 100, 150, 200, 250, 300, 400, 500, 600, 800]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "damage-seg.onnx"))
    parser.add_argument("--val", default=str(ROOT / "experiment" / "data" / "val.npz"))
    args = parser.parse_args()
    data = np.load(args.val)
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    eight = np.ones((3, 3), bool)
    counts = {(kind, area): [0, 0, 0] for kind in (CRACK, SCRATCH) for area in CANDIDATES}  # true, false, found
    drawn = {CRACK: 0, SCRATCH: 0}
    for image, labels in zip(data["images"], data["labels"]):
        predicted = session.run(None, {name: preprocess.to_model_input(image)[None]})[0][0].argmax(0)
        for kind in (CRACK, SCRATCH):
            truth, count = ndimage.label(labels == kind, eight)
            drawn[kind] += count
            found, n = ndimage.label(predicted == kind, eight)
            if n == 0:
                continue
            areas = np.bincount(found.ravel())[1:] * SCALE
            for area in CANDIDATES:
                kept = np.nonzero(areas >= area)[0] + 1
                touched = set()
                for component in kept:
                    hit = np.unique(truth[found == component])
                    hit = hit[hit > 0]
                    counts[(kind, area)][0 if hit.size else 1] += 1
                    touched.update(hit.tolist())
                counts[(kind, area)][2] += len(touched)
    print(f"{len(data['images'])} validation photos; drawn: {drawn[CRACK]} cracks, {drawn[SCRATCH]} scratches")
    print("min_area_px  crack P / R / F1      scratch P / R / F1    mean F1")
    for area in CANDIDATES:
        row, f1s = [], []
        for kind in (CRACK, SCRATCH):
            true, false, found = counts[(kind, area)]
            p = true / max(true + false, 1)
            r = found / max(drawn[kind], 1)
            f1 = 2 * p * r / max(p + r, 1e-9)
            f1s.append(f1)
            row.append(f"{p:.2f} / {r:.2f} / {f1:.2f}")
        print(f"{area:11d}  {row[0]:20}  {row[1]:20}  {np.mean(f1s):.3f}")


if __name__ == "__main__":
    main()
