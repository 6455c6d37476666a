"""Fixtures that hold the worker's find_damages to the experiment's: Tests/Fixtures/damages/.

    python3 experiment/make_damage_fixtures.py

elongation.json has two parts, both decided here by gradeline_experiment.damages:
- `cases`: pixel sets (runs of (y, x_start, x_end), x_end exclusive, in rows of `width`) with
  limits and whether `is_elongated` says the set is elongated beyond each. The sets are lines at
  random angles, lengths and thicknesses, and random-walk blobs; each comes with limits a
  billionth either side of its own elongation and at its last bits, so that a Swift
  computation that rounds differently fails. Four of them are blobs of about a million pixels,
  whose integer moments are past 2^53 and round on their way to floats.
- `masks`: small label masks (one digit per pixel, row-major) with cracks, scratches and chips drawn as lines and blobs, the
  find_damages params (cracks and scratches merged, elongated cracks retyped as scratches),
  and the damages `find_damages` finds, in order.
FindDamagesParityTests reads it. The generator is seeded, so a run writes the same file.
"""
import json
import math
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gradeline_experiment import damages  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLASSES = ["background", "body", "screen", "crack", "scratch", "chip"]
WIDTH = 128


def line(rng, width, height):
    """A straight stroke: a random angle, length and thickness, as a set of (y, x)."""
    angle, length, thick = rng.uniform(0, math.pi), rng.uniform(2, 60), rng.uniform(0.5, 6)
    cy, cx = rng.uniform(20, height - 20), rng.uniform(20, width - 20)
    dy, dx = math.sin(angle), math.cos(angle)
    points = set()
    for t in np.arange(-length / 2, length / 2, 0.25):
        for s in np.arange(-thick / 2, thick / 2 + 0.01, 0.25):
            y, x = int(round(cy + t * dy - s * dx)), int(round(cx + t * dx + s * dy))
            if 0 <= y < height and 0 <= x < width:
                points.add((y, x))
    return points


def blob(rng, width, height):
    """A random walk of 5 to 400 steps, as a set of (y, x)."""
    y, x = int(rng.integers(20, height - 20)), int(rng.integers(20, width - 20))
    points = {(y, x)}
    for _ in range(int(rng.integers(5, 400))):
        y = min(max(y + int(rng.integers(-1, 2)), 0), height - 1)
        x = min(max(x + int(rng.integers(-1, 2)), 0), width - 1)
        points.add((y, x))
    return points


def runs(points):
    """(y, x_start, x_end) runs of a set of (y, x), row-major."""
    out = []
    for y, x in sorted(points):
        if out and out[-1][0] == y and out[-1][2] == x:
            out[-1][2] = x + 1
        else:
            out.append([y, x, x + 1])
    return out


def elongation(component_runs):
    """The elongation is_elongated compares with its limit, or None when it has no finite value."""
    mean, root = damages.spread(component_runs)
    return math.sqrt((mean + root) / (mean - root)) if mean - root > 0 else None


def large(rng):
    """A ragged blob of about a million pixels on a 4000-wide photo, leaning at a random slope:
    n^2 times its covariance is past 2^53, so the integers round on their way to floats."""
    rows, slope = int(rng.integers(600, 1400)), float(rng.uniform(-1.5, 1.5))
    out = []
    for y in range(rows):
        start = int(1500 + slope * y + rng.integers(0, 40))
        out.append([y, start, start + int(rng.integers(200, 1200))])
    return out


def mask_case(rng, index):
    """A front and a back with a few strokes and blobs; drawn again until retyping changes a
    damage, so that each mask tests it."""
    height, width = 120, 60
    params = {"damage_classes": ["crack", "scratch", "chip"], "min_area_px": 4, "min_area_px_by_type": {"crack": 10},
              "merge_types": ["crack", "scratch"], "merge_weights": {"crack": 3, "scratch": 2},
              "retype_elongated": {"crack": "scratch"}, "elongation_limit": [3, 4, 6][index % 3], "edge_px": 2}
    plain = {k: v for k, v in params.items() if k != "retype_elongated"}
    while True:
        masks = {}
        for side in ("front", "back"):
            labels = np.zeros((height, width), np.uint8)
            labels[2:-2, 2:-2] = 1
            labels[8:-10, 6:-6] = 2
            for _ in range(int(rng.integers(3, 7))):
                kind = int(rng.choice([3, 4, 5], p=[0.6, 0.25, 0.15]))
                shape = line if rng.random() < 0.7 else blob
                for y, x in shape(rng, width, height):
                    if labels[y, x] != 0:
                        labels[y, x] = kind
            masks[side] = labels
        found, _ = damages.find_damages(masks, CLASSES, **params)
        if found != damages.find_damages(masks, CLASSES, **plain)[0]:
            break
    return {"width": width, "height": height, "classes": CLASSES, "params": params,
            "labels": {side: "".join(map(str, m.ravel().tolist())) for side, m in masks.items()}, "damages": found}


def main() -> None:
    rng = np.random.default_rng(20261202)
    cases = []
    def case(width, component, limits):
        decided = [damages.is_elongated([tuple(r) for r in component], limit) for limit in limits]
        cases.append({"width": width, "runs": component, "limits": limits, "elongated": decided})

    while len(cases) < 100:
        component = runs((line if len(cases) % 2 == 0 else blob)(rng, WIDTH, 200))
        value = elongation(component)
        limits = [float(rng.uniform(1, 12))]
        if value is not None and value < 1000:
            # Either side by a billionth, and at the last bits, where only the same steps in
            # the same order give the same answer.
            limits += [value * (1 - 1e-9), value * (1 + 1e-9), math.nextafter(value, 0), value, math.nextafter(value, 2000)]
        case(WIDTH, component, limits)
    for _ in range(4):
        component = large(rng)
        value = elongation(component)
        case(4000, component, [math.nextafter(value, 0), value, math.nextafter(value, 2000)])
    masks = [mask_case(rng, i) for i in range(6)]
    out = ROOT / "Tests" / "Fixtures" / "damages" / "elongation.json"
    out.write_text(json.dumps({"cases": cases, "masks": masks}, separators=(",", ":")) + "\n")
    elongated = sum(sum(c["elongated"]) for c in cases)
    retyped = sum(1 for m in masks for d in m["damages"] if d["type"] == "scratch")
    print(f"wrote {out}: {len(cases)} pixel sets, {sum(len(c['limits']) for c in cases)} limits ({elongated} elongated), {len(masks)} masks, "
          f"{sum(len(m['damages']) for m in masks)} damages ({retyped} scratches)")


if __name__ == "__main__":
    main()
