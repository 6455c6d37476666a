#!/usr/bin/python3
"""Renders Gradeline's golden evaluation set: kiosk photos of phones with their label maps and truth.

    /usr/bin/python3 experiment/evalset/render.py [--phones 60] [--rejects 8] [--seed 20261201]
                                                  [--out experiment/evalset/golden]

The same seed gives the same files. This renderer shares no code with the training generator;
README.md next to it explains what it draws, what it holds out and the file format.
"""

import argparse
import io
import json
import os
import shutil
import sys

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import backdrops  # noqa: E402
import grading  # noqa: E402
import phone  # noqa: E402
import photo  # noqa: E402
from grading import BACKGROUND, BODY, SCREEN, CRACK, SCRATCH, CHIP  # noqa: E402

CLASS_OF = {"crack": CRACK, "scratch": SCRATCH, "chip": CHIP}
RESOLUTIONS = [(720, 1440)] * 7 + [(600, 1200)] * 2 + [(900, 1800)] * 2
# Screen scratch totals near the 2% rule are ambiguous; the set keeps clear of them.
LIGHT_SCRATCH_MAX, HEAVY_SCRATCH_MIN = 0.012, 0.03
MIN_DAMAGE_PX = 400
# What a usable photo must measure, with room to spare from the worker's limits.
GOOD_MEAN, GOOD_GLARE, GOOD_BLUR = (60, 195), 0.01, 16.0
EXIF_ORIENTATIONS = [6, 8, 3, 6]
# The phones' targets: the rule each is drawn to meet, and how many of each.
TARGETS = [("no-damage", 0.34), ("light-scratches", 0.23), ("crack-elsewhere", 0.08),
           ("heavy-screen-scratches", 0.07), ("chipped", 0.08), ("screen-crack", 0.20)]
REJECTS = [("too_dark", "front"), ("too_dark", "back"), ("blurred", "front"), ("blurred", "back"),
           ("phone_cut_off", "front"), ("phone_cut_off", "back"), ("missing_side", "back"), ("overexposed", "front")]


class Retry(Exception):
    """This draw of a case missed a requirement; draw it again with the next attempt's seed."""


# -- planning ---------------------------------------------------------------------------------------

def plan(seed, phones, rejects):
    rng = np.random.default_rng([seed, 0])
    counts = [int(round(share * phones)) for _, share in TARGETS]
    counts[0] += phones - sum(counts)
    entries = []
    for (rule, _), count in zip(TARGETS, counts):
        for i in range(count):
            entries.append({"kind": "phone", "target": rule, "held_out": i % 2 == 1})
    for i in range(rejects):
        code, side = REJECTS[i % len(REJECTS)]
        entries.append({"kind": "must_reject", "code": code, "side": side, "held_out": False})
    order = rng.permutation(len(entries))
    entries = [entries[i] for i in order]
    # Held-out axes, dealt round-robin so that every held-out style is well represented.
    axes_cycle = [["backdrop"], ["phone_colour"], ["lighting"], ["damage_strokes"], ["backdrop", "lighting"],
                  ["phone_colour", "backdrop"], ["lighting", "damage_strokes"], ["backdrop"]]
    deal = {"backdrop": 0, "phone_colour": 0, "lighting": 0}
    held_axes = 0
    for e in entries:
        e["resolution"] = RESOLUTIONS[int(rng.integers(len(RESOLUTIONS)))]
        axes = []
        if e["held_out"]:
            axes = list(axes_cycle[held_axes % len(axes_cycle)])
            held_axes += 1
            if "damage_strokes" in axes and e["target"] == "no-damage":
                axes = ["backdrop" if "backdrop" not in axes else "phone_colour"] + [a for a in axes if a != "damage_strokes"]
        e["axes"] = axes
        if "backdrop" in axes:
            e["backdrop"] = backdrops.HELD_OUT[deal["backdrop"] % 4]
            deal["backdrop"] += 1
        else:
            e["backdrop"] = backdrops.ORDINARY[int(rng.integers(4))]
        if "phone_colour" in axes:
            e["phone_colour"] = phone.HELD_OUT_COLOURS[deal["phone_colour"] % 2]
            deal["phone_colour"] += 1
        else:
            e["phone_colour"] = list(phone.ORDINARY_COLOURS)[int(rng.integers(len(phone.ORDINARY_COLOURS)))]
        if "lighting" in axes:
            e["lighting"] = list(photo.HELD_OUT_LIGHTING)[deal["lighting"] % 2]
            deal["lighting"] += 1
        else:
            e["lighting"] = list(photo.ORDINARY_LIGHTING)[int(rng.integers(2))]
        e["held_strokes"] = "damage_strokes" in axes
        e["held_out"] = bool(axes)
    # EXIF-rotated photos: both sides of four phones with damage or none, spread over the set.
    phones_idx = [i for i, e in enumerate(entries) if e["kind"] == "phone"]
    for n, i in enumerate(phones_idx[3::max(len(phones_idx) // len(EXIF_ORIENTATIONS), 1)][:len(EXIF_ORIENTATIONS)]):
        entries[i]["exif_orientation"] = EXIF_ORIENTATIONS[n]
    for n, e in enumerate(entries):
        e["id"] = "g%03d" % (n + 1)
        e["index"] = n + 1
    return entries


# -- drawing one side -------------------------------------------------------------------------------

def place(rng, width, height, phone_w, phone_h, cut_off=False):
    """A tilt and a position that keep the phone inside the photo with a margin (or cut it off)."""
    angle = rng.uniform(-6, 6)
    margin = max(0.03 * width, 16)
    p = phone.geom.Placement(0, 0, phone_w, phone_h, angle)
    x0, y0, x1, y1 = p.photo_box()
    bw, bh = x1 - x0, y1 - y0
    if cut_off:
        # Centre pushed so that a quarter to a third of the phone lies outside two borders.
        sx, sy = rng.choice([-1, 1]), rng.choice([-1, 1])
        cx = width / 2 + sx * (width / 2 - bw / 2 + rng.uniform(0.25, 0.35) * bw)
        cy = height / 2 + sy * (height / 2 - bh / 2 + rng.uniform(0.12, 0.2) * bh)
        return phone.geom.Placement(cx, cy, phone_w, phone_h, angle)
    if bw > width - 2 * margin or bh > height - 2 * margin:
        return None
    cx = rng.uniform(margin + bw / 2, width - margin - bw / 2)
    cy = rng.uniform(margin + bh / 2, height - margin - bh / 2)
    return phone.geom.Placement(cx, cy, phone_w, phone_h, angle)


class Side:
    """One side being drawn: colour, coverage and labels over the whole photo."""

    def __init__(self, spec, placement, name, width, height):
        self.spec, self.placement, self.name = spec, placement, name
        self.scale = width / 720.0
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
        self.u, self.v = placement.to_phone(xx, yy)
        self.rgb, self.alpha, screen = spec.surface(name, self.u, self.v)
        self.labels = np.zeros((height, width), dtype=np.uint8)
        self.labels[self.alpha >= 0.5] = BODY
        self.labels[(screen >= 0.5) & (self.alpha >= 0.5)] = SCREEN
        self.occupied = np.zeros((height, width), dtype=bool)
        self.drawn = []

    def window(self, points, pad):
        xs, ys = self.placement.to_photo(points[:, 0], points[:, 1])
        h, w = self.labels.shape
        x0, x1 = max(int(np.floor(xs.min() - pad)), 0), min(int(np.ceil(xs.max() + pad)) + 1, w)
        y0, y1 = max(int(np.floor(ys.min() - pad)), 0), min(int(np.ceil(ys.max() + pad)) + 1, h)
        if x0 >= x1 or y0 >= y1:
            return None
        return slice(y0, y1), slice(x0, x1)

    def add(self, rng, damage):
        """Draws a damage unless it would touch another one; True when drawn."""
        pad = (damage.width or 0) + (damage.band or 0) + 6
        win = self.window(damage.points(), pad)
        if win is None:
            return False
        u, v = self.u[win], self.v[win]
        cov, mask, bite = phone.damage_layer(damage, u, v)
        alpha = self.alpha[win] * (1 - bite) if bite is not None else self.alpha[win]
        mask = mask & (alpha >= 0.5)
        if mask.sum() < MIN_DAMAGE_PX:
            return False
        radius = int(round(5 * self.scale)) + 2
        h, w = self.labels.shape
        grow = (slice(max(win[0].start - radius, 0), min(win[0].stop + radius, h)),
                slice(max(win[1].start - radius, 0), min(win[1].stop + radius, w)))
        local = np.zeros(self.occupied[grow].shape, dtype=bool)
        local[win[0].start - grow[0].start: win[0].stop - grow[0].start,
              win[1].start - grow[1].start: win[1].stop - grow[1].start] = mask
        if (phone_dilate(local, radius) & self.occupied[grow]).any():
            return False
        base = self.rgb[win][mask] @ photo.LUMA
        colour, opacity = phone.damage_colour(damage, rng, float(base.mean()))
        if damage.kind == "chip":
            grain = 1 + 0.08 * rng.standard_normal(cov.shape)
            colour = colour * grain[..., None]
            self.alpha[win] = alpha
            self.labels[win][alpha < 0.5] = BACKGROUND
        weight = (cov * opacity)[..., None]
        self.rgb[win] = self.rgb[win] * (1 - weight) + colour * weight
        self.labels[win][mask] = CLASS_OF[damage.kind]
        self.occupied[win] |= mask
        self.drawn.append(damage)
        return True


def phone_dilate(mask, radius):
    from scipy import ndimage
    return ndimage.binary_dilation(mask, structure=np.ones((2 * radius + 1, 2 * radius + 1), dtype=bool))


def back_region(spec):
    inset = 15.0  # photo pixels: beyond the worker's 12-pixel edge band, so back damage is "body"

    def region(u, v):
        pad = 0.03 * spec.width
        return np.maximum(spec.outline_sdf(u, v) + inset, -(spec.bump_sdf(u, v) - pad))
    return region


def region_box(spec, side):
    if side == "front":
        left, top, right, bottom, _ = spec.screen_box()
        return left, top, right, bottom
    return -spec.width / 2, -spec.height / 2, spec.width / 2, spec.height / 2


def scratch_stroke(rng, held):
    if held and rng.random() < 0.7:
        return "scratch-sine"
    return ["scratch-arc", "scratch-straight"][int(rng.integers(2))]


def draw_damages(rng, entry, spec, sides):
    """Draws the damages the case's target needs, on the two sides."""
    target, held = entry.get("target"), entry.get("held_strokes", False)
    scale = sides["front"].scale
    front_region = spec.screen_sdf

    def region_of(side):
        return front_region if side == "front" else back_region(spec)

    def add_crack(side):
        for _ in range(30):
            d = phone.crack(rng, side, region_of(side), region_box(spec, side), scale, web=held and rng.random() < 0.8)
            if d is not None and sides[side].add(rng, d):
                return
        raise Retry("no room for a crack")

    def add_scratch(side, heavy=False):
        for _ in range(30):
            lengths = (0.25, 0.55) if heavy else (0.1, 0.28)
            widths = (4.0, 6.0) if heavy else (3.4, 4.4)
            d = phone.scratch(rng, side, region_of(side), region_box(spec, side), scale, scratch_stroke(rng, held),
                              lengths, widths)
            if d is not None and sides[side].add(rng, d):
                return
        raise Retry("no room for a scratch")

    def add_chip(side):
        for _ in range(30):
            d = phone.chip(rng, spec, side, scale, at_corner=rng.random() < 0.5)
            if sides[side].add(rng, d):
                return
        raise Retry("no room for a chip")

    def screen_ratio():
        labels = sides["front"].labels
        screen = (labels == SCREEN).sum() + (labels == SCRATCH).sum() + (labels == CRACK).sum()
        return (labels == SCRATCH).sum() / max(screen, 1)

    def light_scratches(max_count=2):
        for _ in range(int(rng.integers(1, max_count + 1))):
            side = "front" if rng.random() < 0.55 else "back"
            add_scratch(side)
            if screen_ratio() > 0.9 * LIGHT_SCRATCH_MAX:
                raise Retry("light scratches too large")

    if target == "light-scratches":
        light_scratches(3)
    elif target == "heavy-screen-scratches":
        while screen_ratio() < HEAVY_SCRATCH_MIN * 1.15:
            add_scratch("front", heavy=True)
            if len(sides["front"].drawn) > 30:
                raise Retry("too many scratches")
        if rng.random() < 0.3:
            add_scratch("back")
    elif target == "chipped":
        for _ in range(int(rng.integers(1, 3))):
            add_chip("front" if rng.random() < 0.4 else "back")
        if rng.random() < 0.3:
            light_scratches(1)
    elif target == "crack-elsewhere":
        add_crack("back")
        if rng.random() < 0.3:
            add_chip("back")
        if rng.random() < 0.3:
            light_scratches(1)
    elif target == "screen-crack":
        add_crack("front")
        extra = rng.random()
        if extra < 0.2:
            add_crack("back")
        elif extra < 0.4:
            add_chip("back" if rng.random() < 0.5 else "front")
        elif extra < 0.6:
            light_scratches(2)


# -- one case ---------------------------------------------------------------------------------------

def compose(rng, entry, side, backdrop, kind_fault=None, boost=0):
    """The photo of one drawn side, as uint8 RGB."""
    height, width = side.labels.shape
    scale = width / 720.0
    scene = photo.shadow(rng, backdrop, side.alpha, scale)
    scene = scene * (1 - side.alpha[..., None]) + side.rgb * side.alpha[..., None]
    scene = photo.light(rng, scene, entry["lighting"])
    scene = photo.expose(rng, scene)
    # A flat scene (dark phone, plain tray) has little detail for the blur check; a camera would
    # sharpen it. Each boost is a little sharper and grainier.
    blur = rng.uniform(0.25, 0.5) * scale * 0.6 ** boost
    noise = rng.uniform(0.8, 1.5) * 1.35 ** boost
    if kind_fault == "too_dark":
        scene = photo.darken(rng, scene)
        noise = rng.uniform(1.0, 1.8)
    elif kind_fault == "blurred":
        blur, noise = rng.uniform(7, 10) * scale, 0.2
    elif kind_fault == "overexposed":
        scene = photo.wash_out(rng, scene)
        noise = rng.uniform(0.6, 1.0)
    return photo.finish(rng, scene, blur, noise)


def encode(rgb, quality, orientation):
    """JPEG bytes of the upright photo, stored turned when an EXIF orientation is given."""
    img = Image.fromarray(rgb, "RGB")
    buffer = io.BytesIO()
    if orientation in (None, 1):
        img.save(buffer, "JPEG", quality=quality)
    else:
        # The stored pixels are the upright photo turned back, so that applying the tag restores it.
        stored = img.transpose({6: Image.Transpose.ROTATE_90, 3: Image.Transpose.ROTATE_180,
                                8: Image.Transpose.ROTATE_270}[orientation])
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored.save(buffer, "JPEG", quality=quality, exif=exif.tobytes())
    return buffer.getvalue()


def decoded(data):
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    return np.asarray(img.convert("RGB"))


def measure(rgb):
    gray = grading.luma(rgb)
    mean, glare = grading.exposure(gray)
    return {"mean": mean, "glare": glare, "laplacian_variance": grading.laplacian_variance(gray)}


def good(m):
    return GOOD_MEAN[0] <= m["mean"] <= GOOD_MEAN[1] and m["glare"] <= GOOD_GLARE and m["laplacian_variance"] >= GOOD_BLUR


def render_case(entry, seed, attempt, rules):
    rng = np.random.default_rng([seed, entry["index"], attempt])
    width, height = entry["resolution"]
    scale = width / 720.0
    aspect = rng.uniform(1.9, 2.3)
    cut_side = entry["side"] if entry.get("code") == "phone_cut_off" else None
    fraction = rng.uniform(0.5, 0.85)
    phone_h = fraction * height
    phone_w = phone_h / aspect
    case = None
    if entry["phone_colour"] in phone.ORDINARY_COLOURS and rng.random() < 0.15:
        case = list(phone.CASE_COLOURS)[int(rng.integers(len(phone.CASE_COLOURS)))]
    spec = phone.Spec(rng, entry["phone_colour"], phone_w, phone_h, case)
    sides = {}
    for name in ("front", "back"):
        placement = place(rng, width, height, phone_w, phone_h, cut_off=(name == cut_side))
        if placement is None:
            raise Retry("the phone does not fit")
        sides[name] = Side(spec, placement, name, width, height)
    if entry["kind"] == "phone":
        draw_damages(rng, entry, spec, sides)
    truth_damages = []
    for name, side in sides.items():
        found = grading.damages(name, side.labels, min_area=1)
        drawn = {k: sum(1 for d in side.drawn if d.kind == k) for k in CLASS_OF}
        for kind in CLASS_OF:
            parts = [d for d in found if d["type"] == kind]
            if len(parts) != drawn[kind] or any(d["area_px"] < MIN_DAMAGE_PX for d in parts):
                raise Retry("%s %s: %d parts for %d drawn" % (name, kind, len(parts), drawn[kind]))
        for d in found:
            if d["type"] == "chip" and d["zone"] not in ("edge", "corner"):
                raise Retry("a chip off the outline")
            if d["type"] in ("crack", "scratch") and d["zone"] != ("screen" if name == "front" else "body"):
                raise Retry("a %s in zone %s on the %s" % (d["type"], d["zone"], name))
        truth_damages += found
    screen_total = sum(d["zone_ratio"] for d in truth_damages if d["type"] == "scratch" and d["zone"] == "screen")
    if LIGHT_SCRATCH_MAX <= screen_total <= HEAVY_SCRATCH_MIN:
        raise Retry("screen scratches near the 2% rule")
    grade, rule = grading.grade(truth_damages, rules)
    if entry["kind"] == "phone" and rule != entry["target"]:
        raise Retry("drew %s for %s" % (rule, entry["target"]))
    # The photos.
    backdrop = backdrops.draw(entry["backdrop"], rng, height, width)
    quality = 80 + int(16 * rng.random() ** 3)  # 80 to 95, mostly the lower half: the set stays small
    photos, measures = {}, {}
    for name, side in sides.items():
        if entry.get("code") == "missing_side" and name == entry["side"]:
            continue
        fault = entry.get("code") if name == entry.get("side") else None
        photo_fault = fault if fault in ("too_dark", "blurred", "overexposed") else None
        for boost in range(4):
            rgb = compose(rng, entry, side, backdrop, photo_fault, boost=boost if photo_fault is None else 0)
            data = encode(rgb, quality, entry.get("exif_orientation"))
            back = decoded(data)
            if back.shape[:2] != side.labels.shape:
                raise AssertionError("EXIF round trip changed the size")
            m = measure(back)
            if photo_fault is not None or m["laplacian_variance"] >= GOOD_BLUR:
                break
        if fault == "too_dark":
            ok = m["mean"] <= 30
        elif fault == "blurred":
            ok = m["laplacian_variance"] <= 4 and GOOD_MEAN[0] <= m["mean"] <= GOOD_MEAN[1] and m["glare"] <= GOOD_GLARE
        elif fault == "overexposed":
            ok = m["mean"] >= 222 and m["glare"] <= 0.03
        else:
            ok = good(m)
        if not ok:
            raise Retry("%s photo measures %s" % (name, m))
        if name == cut_side and grading.border_fraction(side.labels) < 0.12:
            raise Retry("not cut off enough")
        if name == cut_side and (side.labels != BACKGROUND).mean() < 0.25:
            raise Retry("so far out that the worker would say no_phone")
        if name != cut_side and grading.border_fraction(side.labels) > 0:
            raise AssertionError("a phone touches the border")
        photos[name], measures[name] = data, m
    strokes = sorted({d.stroke for s in sides.values() for d in s.drawn})
    if entry.get("held_strokes") and not set(strokes) & set(phone.HELD_OUT_STROKES):
        raise Retry("no held-out stroke drawn")
    held_out = (entry["backdrop"] in backdrops.HELD_OUT or entry["phone_colour"] in phone.HELD_OUT_COLOURS
                or entry["lighting"] in photo.HELD_OUT_LIGHTING or bool(set(strokes) & set(phone.HELD_OUT_STROKES)))
    for d in truth_damages:
        del d["zone_ratio"], d["severity"]
    truth_damages.sort(key=lambda d: (d["side"] != "front", d["type"], d["bbox"]["y"], d["bbox"]["x"]))
    if entry["kind"] == "phone":
        expected = {"status": "graded", "grade": grade, "rule": rule}
    else:
        expected = {"status": "rejected", "code": entry["code"], "side": entry["side"]}
    truth = {
        "schema": "gradeline.golden-truth/1", "id": entry["id"], "kind": entry["kind"],
        "photos": {n: "%s.jpg" % n for n in photos},
        "labels": {n: "%s.labels.png" % n for n in sides if n in photos},
        "damages": truth_damages,
        "expected": expected,
        "style": {
            "backdrop": entry["backdrop"], "phone_colour": entry["phone_colour"], "lighting": entry["lighting"],
            "damage_strokes": strokes, "resolution": [width, height], "held_out": held_out,
            "exif_orientation": entry.get("exif_orientation", 1), "jpeg_quality": quality, "case": case,
        },
    }
    labels = {n: sides[n].labels for n in photos}
    return truth, photos, labels, measures


def write_case(out, truth, photos, labels):
    folder = os.path.join(out, truth["id"])
    os.makedirs(folder, exist_ok=True)
    for name, data in photos.items():
        with open(os.path.join(folder, "%s.jpg" % name), "wb") as f:
            f.write(data)
    for name, lab in labels.items():
        Image.fromarray(lab, "L").save(os.path.join(folder, "%s.labels.png" % name), compress_level=9)
    with open(os.path.join(folder, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")


def pick_gate(truths):
    phones = [t for t in truths if t["kind"] == "phone"]
    gate, grades = [], set()
    for t in phones:  # a held-out tray first
        if t["style"]["backdrop"] in backdrops.HELD_OUT and t["damages"]:
            gate.append(t["id"]); grades.add(t["expected"]["grade"]); break
    for want in ("A", "D", "C", "B"):
        if len(gate) == 3:
            break
        for t in phones:
            if t["expected"]["grade"] == want and want not in grades:
                gate.append(t["id"]); grades.add(want); break
    for code in ("too_dark", "blurred", "missing_side"):
        gate.append(next(t["id"] for t in truths if t["kind"] == "must_reject" and t["expected"]["code"] == code))
    return gate


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=60, help="graded phones")
    parser.add_argument("--rejects", type=int, default=8, help="must-reject cases")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--out", default="experiment/evalset/golden")
    parser.add_argument("--only", help="render only these ids (comma-separated), for debugging; no manifest")
    parser.add_argument("--resume", action="store_true",
                        help="keep the cases already in --out (from an interrupted run of the same command)")
    args = parser.parse_args(argv)
    rules = grading.load_rules()
    entries = plan(args.seed, args.phones, args.rejects)
    only = set(args.only.split(",")) if args.only else None
    if only is None and not args.resume and os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out, exist_ok=True)
    truths = []
    for entry in entries:
        if only and entry["id"] not in only:
            continue
        done = os.path.join(args.out, entry["id"], "truth.json")
        if args.resume and os.path.exists(done):
            with open(done) as f:
                truths.append(json.load(f))
            continue
        for attempt in range(200):
            try:
                truth, photos, labels, measures = render_case(entry, args.seed, attempt, rules)
                break
            except Retry as why:
                if os.environ.get("EVALSET_VERBOSE"):
                    print("  %s attempt %d: %s" % (entry["id"], attempt, why), file=sys.stderr)
        else:
            raise SystemExit("%s: no valid draw in 200 attempts" % entry["id"])
        write_case(args.out, truth, photos, labels)
        truths.append(truth)
        e = truth["expected"]
        print("%s %-11s %-8s %-22s %-15s %-17s attempt %d  %s" % (
            truth["id"], truth["kind"], e.get("grade") or e.get("code"), e.get("rule") or e.get("side"),
            truth["style"]["backdrop"], truth["style"]["lighting"], attempt,
            " ".join("%s:mean=%.0f,lap=%.0f" % (n, m["mean"], m["laplacian_variance"]) for n, m in measures.items())),
            flush=True)
    if only:
        return
    command = "/usr/bin/python3 experiment/evalset/render.py --phones %d --rejects %d --seed %d --out %s" % (
        args.phones, args.rejects, args.seed, args.out)
    manifest = {
        "schema": "gradeline.golden/1", "renderer": "experiment/evalset/render.py", "command": command,
        "seed": args.seed, "cases": [t["id"] for t in truths], "gate": pick_gate(truths),
        "held_out": {"backdrops": backdrops.HELD_OUT, "phone_colours": phone.HELD_OUT_COLOURS,
                     "lighting": list(photo.HELD_OUT_LIGHTING), "damage_strokes": phone.HELD_OUT_STROKES},
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
