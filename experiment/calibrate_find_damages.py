"""find_damages' smallest areas (`min_area_px`, `min_area_px_by_type`) and crack weight
(`merge_weights`), chosen on the training renderer's own validation set
(experiment/data/val.npz, made by make_dataset.py), not on the golden set.

    python3 experiment/calibrate_find_damages.py [--model models/damage-seg.onnx]

Two tables, each counting over the validation photos the model's crack and scratch components
that touch a drawn damage of their type (true) or none (false), and the drawn damages that some
such component touches (found); each prints precision, recall and F1 per candidate.

- Smallest area, crack and scratch components apart (no merging), at candidate areas given in
  pixels of a 720x1440 photo (the worker's `min_area_px`; the validation set is at the model's
  256x512, so areas scale by (720/256)^2). Larger photos need larger areas.
- Crack weight, with `merge_types: [crack, scratch]` and the smallest areas of
  config/pipeline.yaml: touching crack and scratch pixels make one damage, a crack when its crack
  pixels times the weight are at least its scratch pixels (a weight of 1.5 is
  `merge_weights: {crack: 3, scratch: 2}`). "apart" is the first table's row at the shipped areas.

- Elongation limit, with the shipped merge and areas, at the photo's size (the validation
  masks brought to 720x1440 by nearest, as the worker does): a crack whose elongation
  (`damages.is_elongated`) is above the limit becomes a scratch (`retype_elongated: {crack:
  scratch}`, `elongation_limit`). The model labels long scratches, or stretches of them, crack;
  a crack the renderer draws is a branching web or a short line. "off" retypes nothing.
- Crack weight again, with that retype at the shipped limit, at the photo's size: a weight
  that makes more merged damages cracks costs less once the long ones become scratches again.

The validation set is whichever make_dataset.py wrote last (`--val experiment/data/val_synth.npz`
scores the first renderer's set instead); docs/pipeline.md names the set behind each figure. A drawn damage is counted per connected piece, so a shattered corner counts several
times; read the figures as a comparison between candidates. About a minute.
"""
import argparse
import functools
import pathlib
import sys

import numpy as np
import onnxruntime as ort
import yaml
from scipy import ndimage

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gradeline_experiment import damages, preprocess  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRACK, SCRATCH = 3, 4
KINDS = {CRACK: "crack", SCRATCH: "scratch"}
SCALE = (720 / 256) * (1440 / 512)
AREAS = [50, 100, 150, 200, 250, 300, 400, 500, 600, 800]
WEIGHTS = [None, 1, 1.25, 1.5, 2, 3, 4, 6, 8]
LIMITS = [None, 3, 4, 5, 6, 7, 8, 10, 12, 16]
EIGHT = np.ones((3, 3), bool)


@functools.lru_cache(maxsize=1)
def shipped_params():
    """config/pipeline.yaml's find_damages params."""
    config = yaml.safe_load((ROOT / "config" / "pipeline.yaml").read_text())
    return next(step["find_damages"] for pipe in config["pipelines"].values()
                for step in pipe if isinstance(step, dict) and "find_damages" in step)


def shipped_areas():
    """{crack: px, scratch: px} from config/pipeline.yaml's find_damages."""
    params = shipped_params()
    by_type = params.get("min_area_px_by_type", {})
    return {kind: by_type.get(name, params.get("min_area_px", 30)) for kind, name in KINDS.items()}


def tally_retyped(tables, predicted, labels, shipped):
    """Adds one photo's true, false and found counts to the two tables at the photo's size
    (720x1440): `tables["limit"]` by elongation limit at the shipped crack weight, and
    `tables["weight"]` by crack weight at the shipped limit."""
    rows, columns = preprocess.nearest_indices(512, 1440), preprocess.nearest_indices(256, 720)
    predicted, labels = predicted[rows][:, columns], labels[rows][:, columns]
    truths = {kind: ndimage.label(labels == kind, EIGHT)[0] for kind in KINDS}
    weight, limit = shipped_weight(), shipped_params().get("elongation_limit", 7)
    # Each weight's merged components, once: (kind, area, runs, drawn pieces touched by kind).
    merged = {}
    for row_weight in {weight, *[candidate for candidate in WEIGHTS if candidate is not None]}:
        merged[row_weight] = []
        for kind, found in damages.merged_components(predicted, [(CRACK, row_weight), (SCRATCH, 1)]).items():
            for component in found:
                hits = {}
                for k in KINDS:
                    hits[k] = set()
                    for y, x0, x1 in component["runs"]:
                        hits[k].update(np.unique(truths[k][y, x0:x1]).tolist())
                    hits[k].discard(0)
                merged[row_weight].append((kind, component["area"], component["runs"], hits))
    for table, cases in (("limit", [(weight, candidate) for candidate in LIMITS]),
                         ("weight", [(candidate, limit) for candidate in WEIGHTS if candidate is not None])):
        for row_weight, row_limit in cases:
            row = row_limit if table == "limit" else row_weight
            touched = {kind: set() for kind in KINDS}
            for kind, area, runs, hits in merged[row_weight]:
                final = kind
                if kind == CRACK and row_limit is not None and damages.is_elongated(runs, row_limit):
                    final = SCRATCH
                if area < shipped[final]:
                    continue
                tables[table][(final, row)][0 if hits[final] else 1] += 1
                touched[final] |= hits[final]
            for kind in KINDS:
                tables[table][(kind, row)][2] += len(touched[kind])


def shipped_weight():
    """The crack weight of config/pipeline.yaml's merge: its crack weight over its scratch weight."""
    weights = shipped_params().get("merge_weights", {})
    return weights.get("crack", 1) / weights.get("scratch", 1)


def found_components(predicted, weight):
    """{kind: (labelled array, component ids, areas in photo pixels)}; with a weight, crack and
    scratch components are the merged ones of the kind that wins."""
    out = {}
    if weight is None:
        for kind in KINDS:
            found, n = ndimage.label(predicted == kind, EIGHT)
            out[kind] = (found, np.arange(1, n + 1), np.bincount(found.ravel(), minlength=n + 1)[1:] * SCALE)
        return out
    union, n = ndimage.label((predicted == CRACK) | (predicted == SCRATCH), EIGHT)
    cracks = np.bincount(union[predicted == CRACK], minlength=n + 1)
    scratches = np.bincount(union[predicted == SCRATCH], minlength=n + 1)
    areas = (cracks + scratches)[1:] * SCALE
    ids = np.arange(1, n + 1)
    is_crack = (cracks * weight >= scratches)[1:]
    out[CRACK] = (union, ids[is_crack], areas[is_crack])
    out[SCRATCH] = (union, ids[~is_crack], areas[~is_crack])
    return out


def tally(counts, key, truth, found, ids, areas, smallest):
    """Adds one photo's true, false and found counts for one kind at one smallest area."""
    touched = set()
    for component in ids[areas >= smallest]:
        hit = np.unique(truth[found == component])
        hit = hit[hit > 0]
        counts[key][0 if hit.size else 1] += 1
        touched.update(hit.tolist())
    counts[key][2] += len(touched)


def table(title, rows, counts, drawn):
    print(title)
    print(f"{'':14}crack P / R / F1      scratch P / R / F1    mean F1")
    for row in rows:
        cells, f1s = [], []
        for kind in KINDS:
            true, false, found = counts[(kind, row)]
            p, r = true / max(true + false, 1), found / max(drawn[kind], 1)
            f1 = 2 * p * r / max(p + r, 1e-9)
            f1s.append(f1)
            cells.append(f"{p:.2f} / {r:.2f} / {f1:.2f}")
        name = ("off" if rows is LIMITS else "apart") if row is None else str(row)
        print(f"{name:>12}  {cells[0]:20}  {cells[1]:20}  {np.mean(f1s):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "damage-seg.onnx"))
    parser.add_argument("--val", default=str(ROOT / "experiment" / "data" / "val.npz"))
    args = parser.parse_args()
    data = np.load(args.val)
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    shipped = shipped_areas()
    by_area = {(kind, area): [0, 0, 0] for kind in KINDS for area in AREAS}  # true, false, found
    by_weight = {(kind, weight): [0, 0, 0] for kind in KINDS for weight in WEIGHTS}
    retyped = {"limit": {(kind, limit): [0, 0, 0] for kind in KINDS for limit in LIMITS},
               "weight": {(kind, weight): [0, 0, 0] for kind in KINDS for weight in WEIGHTS if weight is not None}}
    drawn = {kind: 0 for kind in KINDS}
    for image, labels in zip(data["images"], data["labels"]):
        predicted = session.run(None, {name: preprocess.to_model_input(image)[None]})[0][0].argmax(0)
        truths = {}
        for kind in KINDS:
            truths[kind], count = ndimage.label(labels == kind, EIGHT)
            drawn[kind] += count
        for weight in WEIGHTS:
            for kind, (found, ids, areas) in found_components(predicted, weight).items():
                if weight is None:
                    for area in AREAS:
                        tally(by_area, (kind, area), truths[kind], found, ids, areas, area)
                tally(by_weight, (kind, weight), truths[kind], found, ids, areas, shipped[kind])
        tally_retyped(retyped, predicted, labels, shipped)
    print(f"{len(data['images'])} validation photos; drawn: {drawn[CRACK]} cracks, {drawn[SCRATCH]} scratches")
    table("min_area_px (crack and scratch apart)", AREAS, by_area, drawn)
    print()
    table(f"crack weight (merge_types: [crack, scratch]; smallest areas crack {shipped[CRACK]} px, "
          f"scratch {shipped[SCRATCH]} px)", WEIGHTS, by_weight, drawn)
    print()
    table(f"elongation_limit (retype_elongated: {{crack: scratch}}; the shipped crack weight {shipped_weight():g} "
          f"and areas, at 720x1440)", LIMITS, retyped["limit"], drawn)
    print()
    table(f"crack weight with retype_elongated at the shipped elongation_limit "
          f"{shipped_params().get('elongation_limit', 7):g} (the shipped areas, at 720x1440)",
          [weight for weight in WEIGHTS if weight is not None], retyped["weight"], drawn)


if __name__ == "__main__":
    main()
