"""Measures what each check of the shipped pipeline measures, on every photo of a golden set,
and proposes thresholds from the evidence: at most 2% of good photos may fall outside a
threshold, and every must-reject photo of that check's code must still fall outside it. The
proposal sits midway (geometric mean) between the good photos' 2% quantile and the nearest
must-reject photo. A check with no must-reject photo in the set gets no proposal (nan): the
set shows only how far its threshold may go without rejecting good photos.

    python3 experiment/calibrate_checks.py [--golden experiment/evalset/golden] [--model models/damage-seg.onnx]

Needs numpy, scipy, Pillow and onnxruntime (pyenv python3; scripts/setup.sh installs them).
The measures follow the Swift checks exactly (Sources/Core/Checker): BT.601 luma in integers,
mean and glare fraction; the variance of the 4-neighbour Laplacian; the model's mean per-pixel
softmax entropy; and, on the model-sized argmax mask, the largest 8-connected non-background
region's share of the photo and of the border. Writes nothing; README.md quotes its output.
"""
import argparse
import json
import pathlib
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps
from scipy import ndimage

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gradeline_experiment import preprocess  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


def decode(path: pathlib.Path) -> np.ndarray:
    """RGB as the worker decodes it: orientation applied, grey made RGB."""
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def luma(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., k].astype(np.int64) for k in range(3))
    return (299 * r + 587 * g + 114 * b + 500) // 1000


def laplacian_variance(gray: np.ndarray) -> float:
    g = gray.astype(np.int64)
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
    return float(lap.astype(np.float64).var())


def model_measures(session, rgb: np.ndarray):
    x = preprocess.to_model_input(preprocess.resize_area(rgb, 256, 512))[None]
    logits = session.run(None, {"image": x})[0][0].astype(np.float64)
    shifted = logits - logits.max(0)
    p = np.exp(shifted)
    p /= p.sum(0)
    entropy = float(-(p * np.log(np.where(p > 0, p, 1))).sum(0).mean())
    mask = logits.argmax(0)
    regions, count = ndimage.label(mask != 0, structure=np.ones((3, 3)))
    if count == 0:
        return entropy, 0.0, 0.0
    sizes = np.bincount(regions.ravel())[1:]
    phone = regions == (int(sizes.argmax()) + 1)
    border = np.concatenate([phone[0], phone[-1], phone[1:-1, 0], phone[1:-1, -1]])
    return entropy, float(phone.mean()), float(border.mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--golden", default=str(ROOT / "experiment" / "evalset" / "golden"))
    parser.add_argument("--model", default=str(ROOT / "models" / "damage-seg.onnx"))
    parser.add_argument("--quantile", type=float, default=0.02)
    args = parser.parse_args()
    golden = pathlib.Path(args.golden)
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    rows = []
    for case in json.loads((golden / "manifest.json").read_text())["cases"]:
        truth = json.loads((golden / case / "truth.json").read_text())
        for side, file in truth["photos"].items():
            rgb = decode(golden / case / file)
            gray = luma(rgb)
            entropy, device, border = model_measures(session, rgb)
            bad_side = truth["expected"].get("side") in (None, side)
            rows.append({"case": case, "side": side, "kind": truth["kind"],
                         "code": truth["expected"].get("code") if bad_side else None, "width": rgb.shape[1], "height": rgb.shape[0],
                         "mean": float(gray.mean()), "glare": float((gray >= 250).mean()),
                         "laplacian": laplacian_variance(gray), "entropy": entropy,
                         "device": device, "border": border})
    good = [r for r in rows if r["kind"] == "phone"]
    q = args.quantile
    # name, measure, which side of the threshold is bad, the code that must stay rejected
    checks = [("check_exposure.min_mean", "mean", "below", "too_dark"),
              ("check_exposure.max_mean", "mean", "above", "overexposed"),
              ("check_exposure.max_glare_fraction", "glare", "above", None),
              ("check_blur.min_laplacian_variance", "laplacian", "below", "blurred"),
              ("check_confidence.max_mean_entropy", "entropy", "above", None),
              ("check_device.min_device_fraction", "device", "below", "no_phone"),
              ("check_device.max_border_fraction", "border", "above", "phone_cut_off")]
    print(f"{len(good)} good photos, {len(rows) - len(good)} must-reject photos; model {args.model}")
    print(f"{'threshold':36} {'good: min':>9} {'q':>9} {'median':>9} {'max':>9} {'proposed':>9}   must-reject photos of that code")
    for name, key, bad, code in checks:
        values = np.array([r[key] for r in good])
        edge = float(np.quantile(values, q if bad == "below" else 1 - q))
        rejects = [r for r in rows if code and r["code"] == code]
        print(f"{name:36} {values.min():9.4g} {edge:9.4g} {np.median(values):9.4g} {values.max():9.4g} "
              f"{propose(edge, [r[key] for r in rejects], bad):9.4g}   "
              + (", ".join(f"{r['case']}.{r['side']}={r[key]:.4g}" for r in rejects) or "-"))


def propose(edge: float, rejects: list, bad: str) -> float:
    """Midway (geometric mean) between the good photos' quantile and the must-reject photo
    nearest to them; NaN when the set has no must-reject photo for the check."""
    if not rejects:
        return float("nan")
    nearest = max(rejects) if bad == "below" else min(rejects)
    return float(np.sqrt(max(edge, 1e-9) * max(nearest, 1e-9)))


if __name__ == "__main__":
    main()
