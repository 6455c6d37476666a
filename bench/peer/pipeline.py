"""The peer's pipeline: Gradeline's shipped pipeline written the way a Python team would.

`Pipeline.grade(job)` takes a `gradeline.job/1` document (the dict Celery's JSON gives the
task) and returns a result dict: status (graded, rejected or failed), grade, grade_rule,
damages, reasons, error, timings (wall ms per stage) and cpu_ms (CPU ms per stage). It does
the work of `main:` in config/pipeline.yaml with Pillow, numpy, scipy and onnxruntime:

    decode        Pillow (PNG, and JPEG turned upright by its EXIF orientation), header limits first
    check_input   check_sides, check_size, grayscale (BT.601 in integers), check_exposure, check_blur
    preprocess    area resize to 256x512 (the experiment's arithmetic), scale, normalize
    segment       onnxruntime, 1 intra-op thread, both sides in one batch; argmax
    check_model   check_device (scipy.ndimage.label), check_confidence (entropy of the softmax)
    postprocess   each side's mask back at its photo's size (nearest)
    damages       zones, damages (scipy.ndimage.label, min area), the grade (config/grading.yaml)

The params come from config/pipeline.yaml, read once per process with the model and the
grade rules; everything else is done per job. It does not draw the overlay (the shipped config
does not attach it, so it changes nothing in the result) and keeps no trace (no per-output
statistics or hashes): see bench/peer/README.md for why.
"""
import base64
import binascii
import hashlib
import io
import math
import pathlib
import sys
import time

import numpy as np
import yaml
from PIL import Image, ImageOps
from scipy import ndimage, special

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiment"))
from gradeline_experiment import damages as rules  # noqa: E402  (the grade rules engine)
from gradeline_experiment import preprocess  # noqa: E402  (area_taps, nearest_indices)

SIDES = ["front", "back", "left", "right", "top", "bottom"]
CONTENT_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}
# The steps of config/pipeline.yaml's `main:` that this file implements, in order. A config
# that lists others (or these in another order) is refused at load, so that the peer cannot
# silently do less than the worker.
STEPS = ["decode_image", "check_sides", "check_size", "grayscale", "check_exposure", "check_blur",
         "resize", "to_tensor", "normalize", "segment", "argmax_mask", "check_device",
         "check_confidence", "resize_mask", "find_damages", "grade", "overlay"]
EIGHT_CONNECTED = np.ones((3, 3), bool)
SCREEN, EDGE, BODY, CORNER = 1, 2, 3, 4          # zone numbers, as in FindDamages.swift
ZONE_NAMES = {SCREEN: "screen", EDGE: "edge", BODY: "body", CORNER: "corner"}


class Rejected(Exception):
    def __init__(self, reasons):
        super().__init__("; ".join(reason["detail"] for reason in reasons))
        self.reasons = reasons


class Failed(Exception):
    def __init__(self, code, message, side=None):
        super().__init__(message)
        self.code, self.side = code, side


def number(value):
    """A measured value in a reason: at most three decimals."""
    return f"{round(float(value), 3):g}"


class Pipeline:
    def __init__(self, pipeline_path=ROOT / "config" / "pipeline.yaml", threads=1):
        path = pathlib.Path(pipeline_path).resolve()
        config = yaml.safe_load(path.read_text())
        self.params, listed = {}, []
        for name in config["main"]:
            for step in config["pipelines"][name]:
                function, params = (step, {}) if isinstance(step, str) else next(iter(step.items()))
                listed.append(function)
                self.params[function] = dict(params or {})
        if listed != STEPS:
            raise SystemExit(f"the peer implements {STEPS}; {path} runs {listed}")
        if self.params["overlay"].get("attach", False):
            raise SystemExit("the config attaches the overlay, which the peer does not draw")
        if self.params["resize"].get("filter", "bilinear") != "area":
            raise SystemExit("the peer resizes with filter area only")
        self.classes = list(self.params["argmax_mask"]["classes"])
        rules_path = path.parent / self.params["grade"]["rules"]
        self.rules = yaml.safe_load(rules_path.read_text())
        self.session, self.model_input, self.model_output = self._load_model(config, path.parent, threads)

    @staticmethod
    def _load_model(config, directory, threads):
        import onnxruntime as ort
        (name, settings), = config["models"].items()
        path = directory / settings["file"]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != settings["sha256"]:
            raise SystemExit(f"model '{name}': {path} has sha256 {digest}, the config says {settings['sha256']}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return (session, settings.get("input") or session.get_inputs()[0].name,
                settings.get("output") or session.get_outputs()[0].name)

    # ---- one job ----------------------------------------------------------------------------

    def grade(self, job):
        """The result of one job: every stage runs here, on this job's bytes."""
        result = {"job_id": job.get("job_id") if isinstance(job, dict) else None, "status": "graded",
                  "grade": None, "grade_rule": None, "damages": [], "reasons": [], "error": None,
                  "timings": {}, "cpu_ms": {}}
        # timings: wall ms per stage, as Gradeline's result has them; cpu_ms: this process's CPU
        # per stage (one thread does all the work), for the bench's breakdown.
        timings, cpu, stage = result["timings"], result["cpu_ms"], "job"
        start = last = time.perf_counter()
        start_cpu = last_cpu = time.process_time()

        def lap(name):
            nonlocal last, last_cpu
            now, now_cpu = time.perf_counter(), time.process_time()
            timings[name] = round((now - last) * 1000, 3)
            cpu[name] = round((now_cpu - last_cpu) * 1000, 3)
            last, last_cpu = now, now_cpu

        try:
            photos = self.photos(job)
            stage = "decode"
            images = self.decode(photos)
            lap(stage)
            stage = "check_input"
            self.check_input(photos, images)
            lap(stage)
            stage = "preprocess"
            batch = self.preprocess(images)
            lap(stage)
            stage = "segment"
            logits = self.session.run([self.model_output], {self.model_input: batch})[0]
            masks = logits.argmax(axis=1).astype(np.uint8)    # the lowest class wins a tie
            lap(stage)
            stage = "check_model"
            self.check_model(images, logits, masks)
            lap(stage)
            stage = "postprocess"
            photo_masks = {side: self.resize_mask(masks[n], images[side].shape[:2]) for n, side in enumerate(images)}
            lap(stage)
            stage = "damages"
            result["damages"] = self.find_damages(photo_masks)
            grade = rules.grade(self.rules, result["damages"])
            result["grade"], result["grade_rule"] = grade["value"], grade["rule"]
            lap(stage)
        except Rejected as rejected:
            result.update(status="rejected", reasons=rejected.reasons)
        except Failed as failed:
            result.update(status="failed", error={"stage": stage, "code": failed.code, "message": str(failed),
                                                  "retriable": False})
        except Exception as error:  # a bug or a library error: the job fails, the worker goes on
            result.update(status="failed", error={"stage": stage, "code": "internal", "message": repr(error),
                                                  "retriable": False})
        timings["total"] = round((time.perf_counter() - start) * 1000, 3)
        cpu["total"] = round((time.process_time() - start_cpu) * 1000, 3)
        return result

    @staticmethod
    def photos(job):
        """side -> bytes, in Gradeline's side order, from the job's base64 images."""
        if not isinstance(job, dict) or job.get("schema") != "gradeline.job/1" or not job.get("job_id"):
            raise Failed("invalid_job", "not a gradeline.job/1 with a job_id")
        photos = {}
        for n, image in enumerate(job.get("images") or []):
            side = image.get("side")
            if side not in SIDES or side in photos:
                raise Failed("invalid_job", f"images[{n}].side: '{side}' is unknown or given twice")
            if image.get("content_type") not in CONTENT_TYPES:
                raise Failed("unsupported_content_type", f"images[{n}].content_type: {image.get('content_type')!r}")
            try:
                photos[side] = (image["content_type"], base64.b64decode(image["data"], validate=True))
            except (binascii.Error, KeyError, TypeError):
                raise Failed("invalid_job", f"images[{n}].data: the {side} image's data is not valid base64")
        if not photos:
            raise Failed("invalid_job", "images: the job has no images")
        return {side: photos[side] for side in SIDES if side in photos}

    def decode(self, photos):
        """side -> H x W x 3 uint8 RGB. The limits are checked on the headers, before any pixels."""
        p = self.params["decode_image"]
        opened, job_pixels = {}, 0
        for side, (content_type, data) in photos.items():
            if len(data) > p.get("max_bytes", 64 << 20):
                raise Failed("image.too_large", f"the {side} photo has {len(data)} bytes", side)
            try:
                image = Image.open(io.BytesIO(data))
            except Exception as error:
                raise Failed("image.corrupt", f"the {side} photo cannot be read: {error}", side)
            if image.format != CONTENT_TYPES[content_type]:
                raise Failed("image.content_type_mismatch", f"the {side} photo is {content_type} but its bytes are {image.format}", side)
            width, height = image.size
            if image.format == "JPEG" and image.getexif().get(0x0112, 1) in (5, 6, 7, 8):
                width, height = height, width               # upright size
            if width > p.get("max_width", 10000) or height > p.get("max_height", 10000) \
                    or width * height > p.get("max_pixels", 50_000_000):
                raise Failed("image.too_large", f"the {side} photo is {width}x{height}", side)
            job_pixels += width * height
            opened[side] = image
        if job_pixels > p.get("max_job_pixels", 120_000_000):
            raise Failed("image.too_large", f"the job's photos have {job_pixels} pixels together")
        images = {}
        for side, image in opened.items():
            try:
                if image.format == "JPEG":
                    image = ImageOps.exif_transpose(image)
                elif image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                    rgba = image.convert("RGBA")                # transparency over white
                    image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
                images[side] = np.asarray(image.convert("RGB"))
            except Exception as error:
                raise Failed("image.corrupt", f"the {side} photo cannot be decoded: {error}", side)
        return images

    def check_input(self, photos, images):
        missing = [side for side in self.params["check_sides"].get("required", ["front", "back"]) if side not in photos]
        if missing:
            raise Rejected([{"code": "missing_side", "side": side,
                             "detail": f"the job has no {side} photo; the kiosk must take one"} for side in missing])
        p = self.params["check_size"]
        min_width, min_height = p.get("min_width", 480), p.get("min_height", 960)
        low, high = p.get("min_aspect", 1.6), p.get("max_aspect", 2.4)
        reasons = []
        for side, image in images.items():
            height, width = image.shape[:2]
            if width < min_width or height < min_height:
                reasons.append({"code": "resolution_too_low", "side": side,
                                "detail": f"the photo is {width}x{height}; the minimum is {min_width}x{min_height}"})
            if not low <= height / width <= high:
                reasons.append({"code": "wrong_aspect_ratio", "side": side,
                                "detail": f"height/width is {number(height / width)}; it must be from {low} to {high}"})
        if reasons:
            raise Rejected(reasons)
        exposure, blur = self.params["check_exposure"], self.params["check_blur"]
        min_mean, max_mean = exposure.get("min_mean", 40), exposure.get("max_mean", 215)
        glare_level, max_glare = exposure.get("glare_level", 250), exposure.get("max_glare_fraction", 0.05)
        min_variance = blur.get("min_laplacian_variance", 8)
        grays = {side: gray(image) for side, image in images.items()}
        for side, g in grays.items():
            mean = float(g.mean())
            glare = np.count_nonzero(g >= glare_level) / g.size
            if mean < min_mean:
                reasons.append({"code": "too_dark", "side": side, "detail": f"mean brightness {number(mean)} is below {min_mean}"})
            elif mean > max_mean:
                reasons.append({"code": "overexposed", "side": side, "detail": f"mean brightness {number(mean)} is above {max_mean}"})
            if glare > max_glare:
                reasons.append({"code": "glare", "side": side,
                                "detail": f"{number(glare * 100)}% of the photo is at brightness {glare_level} or more"})
        if reasons:
            raise Rejected(reasons)
        for side, g in grays.items():
            variance = laplacian_variance(g)
            if variance < min_variance:
                reasons.append({"code": "blurred", "side": side,
                                "detail": f"Laplacian variance {number(variance)} is below {min_variance}"})
        if reasons:
            raise Rejected(reasons)

    def preprocess(self, images):
        """N x 3 x 512 x 256 float32: area resize, scale, normalize (all sides, one batch)."""
        size = self.params["resize"]
        width, height = size["width"], size["height"]
        resized = [image if image.shape[:2] == (height, width) else resize_area(image, width, height)
                   for image in images.values()]
        scale = np.float32(self.params["to_tensor"].get("scale", 1 / 255))
        mean = np.array(self.params["normalize"]["mean"], np.float32)[None, :, None, None]
        std = np.array(self.params["normalize"]["std"], np.float32)[None, :, None, None]
        batch = np.stack(resized).transpose(0, 3, 1, 2).astype(np.float32) * scale
        return np.ascontiguousarray((batch - mean) / std, np.float32)

    def check_model(self, images, logits, masks):
        device = self.params["check_device"]
        min_fraction, max_border = device.get("min_device_fraction", 0.15), device.get("max_border_fraction", 0.05)
        background = self.classes.index("background") if "background" in self.classes else 0
        reasons = []
        for n, side in enumerate(images):
            labelled, count = ndimage.label(masks[n] != background, structure=EIGHT_CONNECTED)
            areas = np.bincount(labelled.ravel(), minlength=count + 1)
            phone = int(np.argmax(areas[1:])) + 1 if count else 0   # the first of the largest
            fraction = (areas[phone] if count else 0) / masks[n].size
            if fraction < min_fraction:
                reasons.append({"code": "no_phone", "side": side,
                                "detail": f"the phone covers {number(fraction * 100)}% of the photo; at least {min_fraction * 100}% is needed"})
                continue
            inside = labelled == phone
            on_border = int(inside[0].sum() + inside[-1].sum() + inside[1:-1, 0].sum() + inside[1:-1, -1].sum())
            height, width = inside.shape
            border = 2 * width + 2 * max(height - 2, 0)
            if on_border / border > max_border:
                reasons.append({"code": "phone_cut_off", "side": side,
                                "detail": f"the phone touches {number(on_border / border * 100)}% of the photo's border; at most {max_border * 100}% is allowed"})
        if reasons:
            raise Rejected(reasons)
        limit = self.params["check_confidence"].get("max_mean_entropy", 0.5)
        for n, side in enumerate(images):
            entropy = mean_entropy(logits[n])
            if entropy > limit:
                reasons.append({"code": "low_confidence", "side": side,
                                "detail": f"the model's mean per-pixel entropy is {number(entropy)} nats; the limit is {limit}"})
        if reasons:
            raise Rejected(reasons)

    @staticmethod
    def resize_mask(mask, size):
        height, width = size
        if mask.shape == (height, width):
            return mask
        rows = preprocess.nearest_indices(mask.shape[0], height)
        columns = preprocess.nearest_indices(mask.shape[1], width)
        return mask[rows[:, None], columns[None, :]]

    def find_damages(self, photo_masks):
        """Damages in Gradeline's order: side, damage class, then the first pixel in row-major
        order (the order in which scipy.ndimage.label numbers its components)."""
        p = self.params["find_damages"]
        min_area, edge_px = p.get("min_area_px", 30), p.get("edge_px", 12)
        corner_fraction = p.get("corner_fraction", 0.15)
        moderate, severe = p.get("moderate_ratio", 0.002), p.get("severe_ratio", 0.01)
        background, screen = self.classes.index("background"), self.classes.index("screen")
        screen_sides = p.get("screen_sides", ["front"])
        if isinstance(screen_sides, str) or not set(screen_sides) <= {"front", "back", "left", "right", "top", "bottom"}:
            raise ValueError(f"find_damages: screen_sides must be a list of sides, not {screen_sides!r}")
        by_type = p.get("min_area_px_by_type", {})
        if (not isinstance(by_type, dict) or not set(by_type) <= set(p.get("damage_classes", ["crack", "scratch", "chip"]))
                or not all(type(v) is int and 1 <= v <= 1_000_000 for v in by_type.values())):
            raise ValueError(f"find_damages: min_area_px_by_type must map damage classes to areas, not {by_type!r}")
        merge_types, weights = p.get("merge_types", []), p.get("merge_weights", {})
        if (isinstance(merge_types, str) or not set(merge_types) <= set(p.get("damage_classes", ["crack", "scratch", "chip"]))
                or len(set(merge_types)) != len(merge_types) or not isinstance(weights, dict)
                or not set(weights) <= set(merge_types) or not all(type(v) is int and 1 <= v <= 1000 for v in weights.values())):
            raise ValueError(f"find_damages: merge_types must list damage classes once each and merge_weights map "
                             f"them to 1 to 1000, not {merge_types!r} and {weights!r}")
        merging = [(self.classes.index(name), weights.get(name, 1)) for name in merge_types if name in self.classes]
        damage_classes = p.get("damage_classes", ["crack", "scratch", "chip"])
        if len(set(damage_classes)) != len(damage_classes):
            raise ValueError(f"find_damages: damage_classes must name each class once, not {damage_classes!r}")
        retype, limit = p.get("retype_elongated", {}), p.get("elongation_limit", 7)
        if (not isinstance(retype, dict) or not set(retype) <= set(damage_classes)
                or not all(isinstance(to, str) and to in damage_classes and to != name for name, to in retype.items())
                or isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 1 <= limit <= 1000):
            raise ValueError(f"find_damages: retype_elongated must map damage classes to others and elongation_limit "
                             f"be 1 to 1000, not {retype!r} and {limit!r}")
        found = []
        for side, labels in photo_masks.items():
            zone = zones(labels, background, screen if side in screen_sides else None, edge_px, corner_fraction)
            zone_area = np.bincount(zone.ravel(), minlength=5)
            # Merged types: one labelling of their union, each component taking the type with the
            # most pixels times its weight (the first listed on a tie).
            if merging:
                union, union_count = ndimage.label(np.isin(labels, [label for label, _ in merging]), structure=EIGHT_CONNECTED)
                scores = np.stack([np.bincount(union[labels == label], minlength=union_count + 1) * weight
                                   for label, weight in merging], axis=1)
                winner = np.array([label for label, _ in merging])[np.argmax(scores, axis=1)]
            # Each component as (type reported, first pixel, area, zone votes, box).
            candidates = {name: [] for name in damage_classes}
            for name in damage_classes:
                if name not in self.classes:
                    continue
                label = self.classes.index(name)
                if any(label == merged for merged, _ in merging):
                    labelled, count = union, union_count
                else:
                    labelled, count = ndimage.label(labels == label, structure=EIGHT_CONNECTED)
                if count == 0:
                    continue
                flat = labelled.ravel()
                members = np.flatnonzero(flat)
                component = flat[members]
                area = np.bincount(component, minlength=count + 1)
                kept = np.arange(1, count + 1)
                if labelled is union:
                    kept = kept[winner[kept] == label]
                if kept.size == 0:
                    continue
                votes = np.bincount(component * 5 + zone.ravel()[members], minlength=(count + 1) * 5).reshape(count + 1, 5)
                boxes = ndimage.find_objects(labelled)
                first = np.full(count + 1, flat.size)
                np.minimum.at(first, component, members)
                elongated = elongations(labelled, count, limit) if name in retype else None
                for k in kept:
                    reported = retype[name] if elongated is not None and elongated[k] else name
                    candidates[reported].append((int(first[k]), int(area[k]), votes[k], boxes[k - 1]))
            for name in damage_classes:
                for _, size, vote, (rows, columns) in sorted(candidates[name], key=lambda c: c[0]):
                    if size < by_type.get(name, min_area):
                        continue
                    # Most pixels wins; a tie goes to the lower zone number, as in Gradeline.
                    best = int(np.argmax(vote[1:])) + 1 if vote[1:].any() else BODY
                    ratio = size / max(int(zone_area[best]), 1)
                    found.append({
                        "side": side, "type": name, "zone": ZONE_NAMES[best],
                        "bbox": {"x": columns.start, "y": rows.start, "width": columns.stop - columns.start,
                                 "height": rows.stop - rows.start},
                        "area_px": size, "zone_ratio": min(ratio, 1.0),
                        "severity": "severe" if ratio >= severe else "moderate" if ratio >= moderate else "minor",
                    })
        return found


def elongations(labelled, count, limit):
    """Per component of `labelled` (index 0 unused), whether its pixels spread more than `limit`
    times as far along their long axis as across it (the square root of the ratio of the
    eigenvalues of their coordinates' covariance), computed as Gradeline does: exact integer
    sums, then n^2 times the covariance in floats."""
    ys, xs = np.nonzero(labelled)
    component = labelled[ys, xs]
    sums = [np.bincount(component, weights=w.astype(np.float64), minlength=count + 1)
            for w in (np.ones_like(xs), xs, ys, xs * xs, ys * ys, xs * ys)]
    out = np.zeros(count + 1, bool)
    for k in range(1, count + 1):
        n, sx, sy, sxx, syy, sxy = (int(s[k]) for s in sums)
        a, b, c = float(n * sxx - sx * sx), float(n * syy - sy * sy), float(n * sxy - sx * sy)
        half, mean = (a - b) / 2, (a + b) / 2
        root = math.sqrt(half * half + c * c)
        out[k] = mean + root > limit * limit * (mean - root)
    return out


# ---- the arithmetic, per side --------------------------------------------------------------------

def gray(image):
    """BT.601 luma in integers, (299 R + 587 G + 114 B + 500) / 1000."""
    luma = image[..., 0] * np.uint32(299)
    luma += image[..., 1] * np.uint32(587)
    luma += image[..., 2] * np.uint32(114)
    luma += 500
    return (luma // 1000).astype(np.uint8)


def resize_area(image, width, height):
    """The experiment's preprocess.resize_area (what training saw), with the same taps, weights
    and float64 sums in the same order, so the same bytes; it gathers the taps from the uint8
    photo before widening them, instead of widening the whole photo first (half the time)."""
    xi, xw = preprocess.area_taps(image.shape[1], width)
    yi, yw = preprocess.area_taps(image.shape[0], height)
    horizontal = image[:, xi[:, 0], :] * xw[None, :, 0, None]
    for k in range(1, xi.shape[1]):
        horizontal += image[:, xi[:, k], :] * xw[None, :, k, None]
    out = horizontal[yi[:, 0]] * yw[:, 0, None, None]
    for k in range(1, yi.shape[1]):
        out += horizontal[yi[:, k]] * yw[:, k, None, None]
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def laplacian_variance(g):
    """Variance of the 4-neighbour Laplacian over the interior pixels."""
    g = g.astype(np.int32)
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
    return float(lap.var()) if lap.size else 0.0


def mean_entropy(logits):
    """Mean over pixels of the entropy (nats) of the softmax over classes; logits C x H x W."""
    log_p = special.log_softmax(logits, axis=0)
    return float(-(np.exp(log_p) * log_p).sum(axis=0).mean(dtype=np.float64))


def zones(labels, background, screen, edge_px, corner_fraction):
    """Each pixel's zone (0 outside the device), as FindDamages.zones defines them: the screen
    span of each row (none when `screen` is None: a side without a screen); the edge band (within edge_px 4-neighbour steps of the background, the
    outside of the photo counting as background), corner where it is near a corner of the
    device's box; body elsewhere on the device."""
    height, width = labels.shape
    device = labels != background
    rows, columns = np.flatnonzero(device.any(axis=1)), np.flatnonzero(device.any(axis=0))
    zone = np.zeros((height, width), np.uint8)
    if rows.size == 0:
        return zone
    top, bottom, left, right = rows[0], rows[-1], columns[0], columns[-1]
    reach = int(float(min(right - left + 1, bottom - top + 1)) * corner_fraction)
    # The edge band: erode the device edge_px times with the 4-neighbour cross; what goes is
    # the band. Only the device's box (and one pixel round it) can change.
    box = np.zeros((bottom - top + 3, right - left + 3), bool)
    box[1:-1, 1:-1] = device[top:bottom + 1, left:right + 1]
    inner = box
    for _ in range(edge_px):
        shrunk = inner[1:-1, 1:-1] & inner[:-2, 1:-1] & inner[2:, 1:-1] & inner[1:-1, :-2] & inner[1:-1, 2:]
        inner = np.zeros_like(box)
        inner[1:-1, 1:-1] = shrunk
    band = np.zeros((height, width), bool)
    band[top:bottom + 1, left:right + 1] = box[1:-1, 1:-1] & ~inner[1:-1, 1:-1]
    x, y = np.arange(width), np.arange(height)
    near_x = (x - left <= reach) | (right - x <= reach)
    near_y = (y - top <= reach) | (bottom - y <= reach)
    is_screen = labels == screen if screen is not None else np.zeros_like(device)
    has_screen = is_screen.any(axis=1)
    first = np.where(has_screen, is_screen.argmax(axis=1), width)
    last = np.where(has_screen, width - 1 - is_screen[:, ::-1].argmax(axis=1), -1)
    span = (x[None, :] >= first[:, None]) & (x[None, :] <= last[:, None])
    corner = near_y[:, None] & near_x[None, :]
    zone[device] = BODY
    zone[band & ~corner] = EDGE
    zone[band & corner] = CORNER
    zone[device & span] = SCREEN
    return zone
