"""The whole serving pipeline in Python (numpy + onnxruntime): the data scientists' reference.

Reads the same config as the worker (config/pipeline.yaml by default) and runs its steps in
order: decode, the checks, resize, to_tensor, normalize, the model, argmax, resize_mask,
find_damages and grade. Each step's output is saved under the name the worker's trace gives it,
so that `gradeline-worker parity` can compare the two stage by stage.

    python3 experiment/reference.py --out DIR [--pipeline config/pipeline.yaml] IMAGE...
    python3 experiment/reference.py                # rewrites the test fixtures (see below)

IMAGE is `side=file` or a file (the front); all IMAGEs are one job. PNGs are read as the worker
reads them; JPEGs with Pillow, turned upright by their EXIF orientation (the worker itself takes
PNG only, so a JPEG's parity run stops at decode_image). DIR gets:

    <artifact>.<side>.npy   per-side images (H x W x C uint8) and masks (H x W uint8)
    <artifact>.npy          batch tensors (N x C x H x W float32: tensor, normalized, logits)
    damages.json, grade.json
    manifest.json           the steps in order, each output's file, shape, dtype and sha256,
                            and the outcome (graded, rejected with reasons, or failed)

With no arguments it rewrites the fixtures of the Swift tests:
- Tests/Fixtures/parity/{NAME}.input.npy and {NAME}.logits.npy: a sample photo's model input
  and onnxruntime's logits (the preprocessing and model parity tests);
- Tests/Fixtures/parity/stages/: a small photo, a tiny 1x1-convolution model and a pipeline
  config made here, and the reference of every stage on them (the `parity` command's tests).

Steps it does not model (overlay, crop, inject_fault) are skipped, and the manifest says so.
"""
import argparse
import hashlib
import json
import math
import pathlib
import sys

import numpy as np
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gradeline_experiment import damages as damages_module  # noqa: E402
from gradeline_experiment import pngio, preprocess  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
SIDES = list(damages_module.SIDES)
SAMPLES = ["phone-02-front"]


class Rejected(Exception):
    def __init__(self, reasons):
        super().__init__("; ".join(r["detail"] for r in reasons))
        self.reasons = reasons


# ---- decoding -------------------------------------------------------------------------------

def decode(data: bytes) -> np.ndarray:
    """A photo as H x W x 3 uint8 RGB, with the worker's conventions for PNG."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        try:
            image = pngio.decode(data)
        except ValueError:
            return _decode_with_pillow(data, png=True)
        return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
    return _decode_with_pillow(data, png=False)


def _decode_with_pillow(data: bytes, png: bool) -> np.ndarray:
    """PNGs that pngio does not read (other filters, palettes, 16 bits, alpha) and JPEGs."""
    import io

    from PIL import Image, ImageOps
    image = Image.open(io.BytesIO(data))
    if not png:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"), np.uint8)
    if image.mode in ("I;16", "I;16B", "I"):
        # 16-bit samples scaled with rounding, round(v / 257).
        gray = np.floor(np.asarray(image, np.float64) / 257 + 0.5).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if image.mode == "P" or "A" in image.mode or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"), np.int64)
        alpha = rgba[..., 3:4]
        # Transparency composited over white, (c a + 255 (255 - a) + 127) / 255.
        return ((rgba[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    return np.asarray(image.convert("RGB"), np.uint8)


def gray(image: np.ndarray) -> np.ndarray:
    """BT.601 luma in integers, (299 R + 587 G + 114 B + 500) / 1000, as H x W x 1."""
    if image.shape[2] == 1:
        return image
    rgb = image.astype(np.int64)
    return ((299 * rgb[..., 0] + 587 * rgb[..., 1] + 114 * rgb[..., 2] + 500) // 1000).astype(np.uint8)[..., None]


def number(value: float) -> str:
    """A measured value as the worker's reasons show it: at most three decimals."""
    rounded = math.floor(abs(value) * 1000 + 0.5) / 1000
    return repr(math.copysign(rounded, value))


# ---- the functions ----------------------------------------------------------------------------
# Each takes (params, inputs by role, context) and returns outputs by role, or raises Rejected.
# ROLES gives, per function, its input roles and output roles with their default artifact names
# (the same as the Swift functions' `step.input` and `step.output`).

ROLES = {
    "decode_image": ({"photos": "photos"}, {"image": "image"}),
    "grayscale": ({"image": "image"}, {"image": "gray"}),
    "check_sides": ({"photos": "photos"}, {}),
    "check_size": ({"image": "image"}, {}),
    "check_exposure": ({"image": "gray"}, {}),
    "check_blur": ({"image": "gray"}, {}),
    "resize": ({"image": "image"}, {"image": "resized"}),
    "to_tensor": ({"image": "resized"}, {"tensor": "tensor"}),
    "normalize": ({"tensor": "tensor"}, {"tensor": "normalized"}),
    "segment": ({"tensor": "normalized"}, {"logits": "logits"}),
    "argmax_mask": ({"logits": "logits"}, {"mask": "mask"}),
    "check_device": ({"mask": "mask"}, {}),
    "check_confidence": ({"logits": "logits"}, {}),
    "resize_mask": ({"mask": "mask", "size_of": "image"}, {"mask": "photo_mask"}),
    "find_damages": ({"mask": "photo_mask"}, {"damages": "damages", "zones": "zones"}),
    "grade": ({"damages": "damages"}, {"grade": "grade"}),
}


def f_decode_image(p, i, ctx):
    return {"image": {side: decode(data) for side, data in i["photos"].items()}}


def f_grayscale(p, i, ctx):
    return {"image": {side: gray(image) for side, image in i["image"].items()}}


def f_check_sides(p, i, ctx):
    missing = [s for s in p.get("required", ["front", "back"]) if s not in i["photos"]]
    if missing:
        raise Rejected([{"code": "missing_side", "side": s,
                         "detail": f"the job has no {s} photo; the kiosk must take one"} for s in missing])
    return {}


def f_check_size(p, i, ctx):
    min_w, min_h = p.get("min_width", 480), p.get("min_height", 960)
    lo, hi = p.get("min_aspect", 1.6), p.get("max_aspect", 2.4)
    reasons = []
    for side, image in i["image"].items():
        h, w = image.shape[:2]
        if w < min_w or h < min_h:
            reasons.append({"code": "resolution_too_low", "side": side,
                            "detail": f"the photo is {w}x{h}; the minimum is {min_w}x{min_h}"})
        if not lo <= h / w <= hi:
            reasons.append({"code": "wrong_aspect_ratio", "side": side,
                            "detail": f"height/width is {number(h / w)}; it must be from {lo} to {hi}"})
    if reasons:
        raise Rejected(reasons)
    return {}


def f_check_exposure(p, i, ctx):
    min_mean, max_mean = p.get("min_mean", 40), p.get("max_mean", 215)
    level, max_glare = p.get("glare_level", 250), p.get("max_glare_fraction", 0.05)
    reasons = []
    for side, image in i["image"].items():
        g = gray(image).astype(np.int64)
        mean = int(g.sum()) / g.size
        glare = int((g >= level).sum()) / g.size
        if mean < min_mean:
            reasons.append({"code": "too_dark", "side": side, "detail": f"mean brightness {number(mean)} is below {min_mean}"})
        elif mean > max_mean:
            reasons.append({"code": "overexposed", "side": side, "detail": f"mean brightness {number(mean)} is above {max_mean}"})
        if glare > max_glare:
            reasons.append({"code": "glare", "side": side, "detail": f"{number(glare * 100)}% of the photo is at brightness {level} or more"})
    if reasons:
        raise Rejected(reasons)
    return {}


def laplacian_variance(g: np.ndarray) -> float:
    g = g[..., 0].astype(np.int64) if g.ndim == 3 else g.astype(np.int64)
    if g.shape[0] < 3 or g.shape[1] < 3:
        return 0.0
    lap = (g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]).astype(np.float64)
    mean = lap.sum() / lap.size
    return float((lap * lap).sum() / lap.size - mean * mean)


def f_check_blur(p, i, ctx):
    minimum = p.get("min_laplacian_variance", 8)
    reasons = []
    for side, image in i["image"].items():
        variance = laplacian_variance(gray(image))
        if variance < minimum:
            reasons.append({"code": "blurred", "side": side,
                            "detail": f"Laplacian variance {number(variance)} is below {minimum}"})
    if reasons:
        raise Rejected(reasons)
    return {}


def f_resize(p, i, ctx):
    width, height, kind = p["width"], p["height"], p.get("filter", "bilinear")
    resize = {"bilinear": preprocess.resize_bilinear, "nearest": preprocess.resize_nearest,
              "area": preprocess.resize_area}[kind]
    out = {}
    for side, image in i["image"].items():
        if image.shape[0] == height and image.shape[1] == width:
            out[side] = image
        else:
            out[side] = resize(image, width, height)
            if out[side].ndim == 2:
                out[side] = out[side][..., None]
    return {"image": out}


def f_to_tensor(p, i, ctx):
    scale = np.float32(p.get("scale", 1 / 255))
    images = list(i["image"].values())
    if any(image.shape != images[0].shape for image in images):
        raise ValueError("sides differ in size or format; resize them first")
    batch = np.stack([image.transpose(2, 0, 1) for image in images]).astype(np.float32) * scale
    return {"tensor": Batch(np.ascontiguousarray(batch, np.float32), list(i["image"].keys()))}


def f_normalize(p, i, ctx):
    tensor = i["tensor"]
    mean = np.array(p["mean"], np.float32)[None, :, None, None]
    std = np.array(p["std"], np.float32)[None, :, None, None]
    return {"tensor": Batch(((tensor.array - mean) / std).astype(np.float32), tensor.sides)}


def f_segment(p, i, ctx):
    model = ctx["models"][p["model"]]
    tensor = i["tensor"]
    logits = model["session"].run([model["output"]], {model["input"]: tensor.array})[0]
    return {"logits": Batch(np.ascontiguousarray(logits, np.float32), tensor.sides)}


def f_argmax_mask(p, i, ctx):
    logits = i["logits"]
    classes = list(p["classes"])
    ctx["classes"] = classes
    labels = logits.array.argmax(axis=1).astype(np.uint8)  # the lowest index wins a tie
    return {"mask": {side: labels[n] for n, side in enumerate(logits.sides)}}


def f_check_device(p, i, ctx):
    min_fraction, max_border = p.get("min_device_fraction", 0.15), p.get("max_border_fraction", 0.05)
    background = ctx["classes"].index("background") if "background" in ctx["classes"] else 0
    reasons = []
    for side, labels in i["mask"].items():
        found = damages_module.components(labels != background)
        phone = max(found, key=lambda c: c["area"]) if found else None  # the first of the largest
        fraction = (phone["area"] if phone else 0) / labels.size
        if fraction < min_fraction:
            reasons.append({"code": "no_phone", "side": side,
                            "detail": f"the phone covers {number(fraction * 100)}% of the photo"})
            continue
        inside = np.zeros(labels.shape, bool)
        for y, x0, x1 in phone["runs"]:
            inside[y, x0:x1] = True
        h, w = labels.shape
        on_border = int(inside[0, :].sum() + inside[h - 1, :].sum() + inside[1:h - 1, 0].sum() + inside[1:h - 1, w - 1].sum())
        border = 2 * w + 2 * max(h - 2, 0)
        if on_border / max(border, 1) > max_border:
            reasons.append({"code": "phone_cut_off", "side": side,
                            "detail": f"the phone touches {number(on_border / border * 100)}% of the photo's border"})
    if reasons:
        raise Rejected(reasons)
    return {}


def f_check_confidence(p, i, ctx):
    maximum = p.get("max_mean_entropy", 0.5)
    logits = i["logits"]
    reasons = []
    for n, side in enumerate(logits.sides):
        x = logits.array[n].astype(np.float64)
        e = np.exp(x - x.max(axis=0, keepdims=True))
        prob = e / e.sum(axis=0, keepdims=True)
        entropy = float(-(np.where(prob > 0, prob * np.log(np.where(prob > 0, prob, 1)), 0)).sum(axis=0).mean())
        if not np.isfinite(entropy):
            reasons.append({"code": "low_confidence", "side": side,
                            "detail": "the model's output holds values that are not finite numbers (NaN or infinity); "
                                      "the model or its runtime is faulty"})
        elif entropy > maximum:
            reasons.append({"code": "low_confidence", "side": side,
                            "detail": f"the model's mean per-pixel entropy is {number(entropy)} nats; the limit is {maximum}"})
    if reasons:
        raise Rejected(reasons)
    return {}


def f_resize_mask(p, i, ctx):
    out = {}
    for side, labels in i["mask"].items():
        h, w = i["size_of"][side].shape[:2]
        if labels.shape == (h, w):
            out[side] = labels
        else:
            rows = preprocess.nearest_indices(labels.shape[0], h)
            columns = preprocess.nearest_indices(labels.shape[1], w)
            out[side] = labels[rows][:, columns]
    return {"mask": out}


def f_find_damages(p, i, ctx):
    found, zones = damages_module.find_damages(
        i["mask"], ctx["classes"], p.get("damage_classes", ["crack", "scratch", "chip"]),
        p.get("min_area_px", 30), p.get("edge_px", 12), p.get("corner_fraction", 0.15),
        p.get("moderate_ratio", 0.002), p.get("severe_ratio", 0.01), p.get("screen_sides", ["front"]),
        p.get("min_area_px_by_type", {}), p.get("merge_types", []), p.get("merge_weights", {}),
        p.get("retype_elongated", {}), p.get("elongation_limit", 7))
    return {"damages": found, "zones": zones}


def f_grade(p, i, ctx):
    path = pathlib.Path(p["rules"])
    if not path.is_absolute():
        path = ctx["directory"] / path
    rules = yaml.safe_load(path.read_text())
    return {"grade": damages_module.grade(rules, i["damages"])}


FUNCTIONS = {name: globals()[f"f_{name}"] for name in ROLES}


class Batch:
    """A batch tensor with the side of each entry."""

    def __init__(self, array: np.ndarray, sides):
        self.array, self.sides = array, list(sides)


# ---- running a config ---------------------------------------------------------------------------

def load_models(config, directory: pathlib.Path):
    import onnxruntime as ort
    models = {}
    for name, settings in (config.get("models") or {}).items():
        path = pathlib.Path(settings["file"])
        if not path.is_absolute():
            path = directory / path
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if settings.get("sha256") and settings["sha256"] != digest:
            raise SystemExit(f"model '{name}': {path} has sha256 {digest}, the config says {settings['sha256']}")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        models[name] = {"session": session,
                        "input": settings.get("input") or session.get_inputs()[0].name,
                        "output": settings.get("output") or session.get_outputs()[0].name}
    return models


def steps(config):
    """(pipeline, function, params) for every step of `main:`, in order."""
    for pipeline in config["main"]:
        for step in config["pipelines"][pipeline]:
            if isinstance(step, str):
                yield pipeline, step, {}
            else:
                (function, params), = step.items()
                yield pipeline, function, dict(params or {})


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def run(pipeline_path: pathlib.Path, photos: dict, out: pathlib.Path) -> dict:
    """Runs the config on one job's photos (side -> bytes) and writes every stage's output."""
    config = yaml.safe_load(pipeline_path.read_text())
    directory = pipeline_path.resolve().parent
    ctx = {"models": load_models(config, directory), "directory": directory, "classes": []}
    artifacts = {"photos": {side: photos[side] for side in SIDES if side in photos}}
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"format": "gradeline.reference/1", "pipeline": str(pipeline_path),
                "sides": list(artifacts["photos"]), "steps": [], "status": "graded"}
    for pipeline, function, params in steps(config):
        stage = f"{pipeline}/{function}"
        entry = {"stage": stage, "pipeline": pipeline, "function": function, "outputs": []}
        manifest["steps"].append(entry)
        if function not in FUNCTIONS:
            entry["status"] = "skipped"
            continue
        inputs_by_role, outputs_by_role = ROLES[function]
        renamed_in, renamed_out = params.pop("in", None) or {}, params.pop("out", None) or {}
        inputs = {role: artifacts[renamed_in.get(role, name)] for role, name in inputs_by_role.items()}
        try:
            written = FUNCTIONS[function](params, inputs, ctx)
        except Rejected as rejected:
            entry["status"] = "rejected"
            manifest.update(status="rejected", reasons=rejected.reasons)
            break
        except Exception as error:  # a failed step ends the job, as in the worker
            entry["status"] = "failed"
            manifest.update(status="failed", error={"stage": stage, "message": str(error)})
            break
        entry["status"] = "ok"
        for role, default in outputs_by_role.items():
            name = renamed_out.get(role, default)
            artifacts[name] = written[role]
            entry["outputs"] += save(name, written[role], out)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def save(name: str, value, out: pathlib.Path):
    """Writes one artifact; returns its manifest entries."""
    if isinstance(value, Batch):
        np.save(out / f"{name}.npy", value.array)
        return [{"artifact": name, "side": None, "kind": "tensor", "file": f"{name}.npy", "sides": value.sides,
                 "shape": list(value.array.shape), "dtype": "float32", "sha256": sha256(value.array)}]
    if isinstance(value, dict) and {"value", "rule"} <= set(value):
        (out / f"{name}.json").write_text(json.dumps(value, indent=2) + "\n")
        digest = hashlib.sha256(f"{value['value']}|{value['rule']}".encode()).hexdigest()
        return [{"artifact": name, "side": None, "kind": "grade", "file": f"{name}.json", "sha256": digest}]
    if isinstance(value, list):
        (out / f"{name}.json").write_text(json.dumps(value, indent=2) + "\n")
        return [{"artifact": name, "side": None, "kind": "damages", "file": f"{name}.json", "sha256": None}]
    entries = []
    for side, array in value.items():
        kind = "image" if array.ndim == 3 else "mask"
        array = np.ascontiguousarray(array)
        np.save(out / f"{name}.{side}.npy", array)
        entries.append({"artifact": name, "side": side, "kind": kind, "file": f"{name}.{side}.npy",
                        "shape": list(array.shape), "dtype": "uint8", "sha256": sha256(array)})
    return entries


def parse_images(images):
    photos = {}
    for item in images:
        side, sep, path = item.partition("=")
        if not sep:
            side, path = "front", item
        if side not in SIDES:
            raise SystemExit(f"unknown side '{side}' in '{item}'; sides are {', '.join(SIDES)}")
        photos[side] = pathlib.Path(path).read_bytes()
    return photos


# ---- the test fixtures ----------------------------------------------------------------------------

STAGES = ROOT / "Tests" / "Fixtures" / "parity" / "stages"


def write_fixtures() -> None:
    import onnxruntime as ort
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
    # The parity command's fixtures: small, so that the tests read kilobytes, not megabytes.
    inputs = STAGES / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    photo = pngio.decode((ROOT / "samples" / "phone-03-front.png").read_bytes())
    pngio.write(inputs / "front.png", preprocess.resize_area(photo, 90, 180))
    write_tiny_model(inputs / "tiny-seg.onnx")
    digest = hashlib.sha256((inputs / "tiny-seg.onnx").read_bytes()).hexdigest()
    template = (inputs / "pipeline.yaml.in").read_text()
    (inputs / "pipeline.yaml").write_text(template.replace("@TINY_SHA256@", digest))
    reference = STAGES / "reference"
    for old in reference.glob("*"):
        old.unlink()
    manifest = run(inputs / "pipeline.yaml", {"front": (inputs / "front.png").read_bytes()}, reference)
    damages = json.loads((reference / "damages.json").read_text())
    print(f"stages: {manifest['status']}, {len(damages)} damages, grade {(reference / 'grade.json').read_text().strip()}")


def write_tiny_model(path: pathlib.Path) -> None:
    """A 1x1 convolution from 3 normalized channels to 6 logits, for any height and width: a
    stand-in for the U-Net that keeps the stage fixtures small. Written as ONNX protobuf by
    hand, since the pyenv Python has onnxruntime but not the onnx package."""
    # A nearest-centroid classifier, w_c . x - |w_c|^2 / 2, on the mean normalized colour of
    # each class in phone-03-front (crack borrows a bright grey): coarse, but it draws a tray,
    # a body, a screen and some damage.
    centroids = np.array([
        [0.19, 0.33, -0.11],   # background: the tray
        [-1.52, -0.98, -0.02],  # body
        [-1.67, -1.58, -1.31],  # screen: dark
        [1.0, 1.1, 1.3],        # crack
        [0.6, 0.75, 0.99],      # scratch
        [1.29, 1.47, 1.75],     # chip
    ], np.float32)
    weights = centroids.reshape(6, 3, 1, 1)
    bias = (-0.5 * (centroids ** 2).sum(axis=1)).astype(np.float32)

    def varint(n: int) -> bytes:
        out = b""
        while True:
            byte, n = n & 0x7F, n >> 7
            out += bytes([byte | (0x80 if n else 0)])
            if not n:
                return out

    def field(number: int, value) -> bytes:
        if isinstance(value, int):
            return varint(number << 3) + varint(value)
        data = value.encode() if isinstance(value, str) else value
        return varint(number << 3 | 2) + varint(len(data)) + data

    def tensor(name, array):  # TensorProto: dims 1, data_type 2 (1 = float), name 8, raw_data 9
        return b"".join(field(1, d) for d in array.shape) + field(2, 1) + field(8, name) + field(9, array.tobytes())

    def value_info(name, dims):  # ValueInfoProto: name 1, type 2 > tensor_type 1 > elem_type 1, shape 2
        shape = b"".join(field(1, field(2, d) if isinstance(d, str) else field(1, d)) for d in dims)
        return field(1, name) + field(2, field(1, field(1, 1) + field(2, shape)))

    kernel = field(1, "kernel_shape") + field(8, 1) + field(8, 1) + field(20, 7)  # AttributeProto, INTS
    node = field(1, "image") + field(1, "w") + field(1, "b") + field(2, "logits") + field(3, "conv") + field(4, "Conv") + field(5, kernel)
    graph = (field(1, node) + field(2, "tiny-seg") + field(5, tensor("w", weights)) + field(5, tensor("b", bias))
             + field(11, value_info("image", ["batch", 3, "height", "width"]))
             + field(12, value_info("logits", ["batch", 6, "height", "width"])))
    model = field(1, 8) + field(2, "reference.py") + field(7, graph) + field(8, field(1, "") + field(2, 13))
    path.write_bytes(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=pathlib.Path, help="where to write every stage's output")
    parser.add_argument("--pipeline", type=pathlib.Path, default=ROOT / "config" / "pipeline.yaml")
    parser.add_argument("images", nargs="*", help="side=file, or a file (the front)")
    args = parser.parse_args()
    if args.out is None:
        if args.images:
            parser.error("give --out DIR with the images")
        write_fixtures()
        return
    if not args.images:
        parser.error("give at least one image")
    manifest = run(args.pipeline, parse_images(args.images), args.out)
    files = sum(len(step["outputs"]) for step in manifest["steps"])
    print(f"{args.out}: {manifest['status']}, {files} outputs of {len(manifest['steps'])} steps")
    for reason in manifest.get("reasons", []):
        print(f"  rejected: {reason['code']} ({reason['side']}): {reason['detail']}")
    if "error" in manifest:
        print(f"  failed at {manifest['error']['stage']}: {manifest['error']['message']}")


if __name__ == "__main__":
    main()
