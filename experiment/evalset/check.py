#!/usr/bin/python3
"""Checks the golden set against its format and its own label maps, then prints a summary.

    /usr/bin/python3 experiment/evalset/check.py [experiment/evalset/golden]

It checks every truth.json's fields; that each label map is 8-bit greyscale with class
indices and the size of its photo once the EXIF orientation is applied; that each truth damage
is one 8-connected component of its class in the label map with exactly that box and area; that
the damages and the grade are what the worker's rules give from the label maps; and that each
photo passes, or for a must-reject case fails, the worker's checks as the truth says.
Exit status 1 when anything is wrong.
"""

import collections
import json
import os
import sys

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import grading  # noqa: E402

SIDES = ("front", "back")
DAMAGE_KEYS = {"side", "type", "zone", "bbox", "area_px"}
STYLE_KEYS = {"backdrop", "phone_colour", "lighting", "damage_strokes", "resolution", "held_out", "exif_orientation"}
CODES = {"too_dark", "blurred", "phone_cut_off", "missing_side", "overexposed"}
problems = []


def fail(where, message):
    problems.append("%s: %s" % (where, message))


def check_manifest(root):
    path = os.path.join(root, "manifest.json")
    with open(path) as f:
        m = json.load(f)
    want = {"schema", "renderer", "command", "seed", "cases", "gate", "held_out"}
    if set(m) != want:
        fail("manifest", "keys %s, want %s" % (sorted(m), sorted(want)))
    if m.get("schema") != "gradeline.golden/1":
        fail("manifest", "schema %r" % m.get("schema"))
    if m.get("renderer") != "experiment/evalset/render.py":
        fail("manifest", "renderer %r" % m.get("renderer"))
    if not isinstance(m.get("seed"), int) or "--seed %d" % m.get("seed", -1) not in m.get("command", ""):
        fail("manifest", "seed and command disagree")
    if set(m.get("held_out", {})) != {"backdrops", "phone_colours", "lighting", "damage_strokes"}:
        fail("manifest", "held_out keys %s" % sorted(m.get("held_out", {})))
    folders = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if sorted(m["cases"]) != folders:
        fail("manifest", "cases do not match the folders")
    if len(m["gate"]) != 6 or not set(m["gate"]) <= set(m["cases"]):
        fail("manifest", "gate must be 6 listed cases")
    return m


def check_case(root, case, manifest, rules):
    where = case
    folder = os.path.join(root, case)
    with open(os.path.join(folder, "truth.json")) as f:
        t = json.load(f)
    required = {"schema", "id", "kind", "photos", "damages", "expected", "style"}
    if not required <= set(t) or not set(t) <= required | {"labels"}:
        fail(where, "truth keys %s" % sorted(t))
        return t
    if t["schema"] != "gradeline.golden-truth/1" or t["id"] != case or t["kind"] not in ("phone", "must_reject"):
        fail(where, "schema, id or kind")
    photos, labels = t["photos"], t.get("labels", {})
    if not photos or not set(photos) <= set(SIDES) or not set(labels) <= set(photos):
        fail(where, "photos %s labels %s" % (photos, labels))
    for side, name in photos.items():
        if name != "%s.jpg" % side:
            fail(where, "photo name %s" % name)
    for side, name in labels.items():
        if name != "%s.labels.png" % side:
            fail(where, "label name %s" % name)
    style = t["style"]
    if not STYLE_KEYS <= set(style):
        fail(where, "style keys %s" % sorted(style))
    held = manifest["held_out"]
    is_held = (style["backdrop"] in held["backdrops"] or style["phone_colour"] in held["phone_colours"]
               or style["lighting"] in held["lighting"] or bool(set(style["damage_strokes"]) & set(held["damage_strokes"])))
    if is_held != style["held_out"]:
        fail(where, "held_out flag %s but styles say %s" % (style["held_out"], is_held))
    width, height = style["resolution"]
    if width < 480 or height < 960 or not 1.6 <= height / width <= 2.4:
        fail(where, "resolution %s" % style["resolution"])
    maps, measures = {}, {}
    for side in photos:
        raw = Image.open(os.path.join(folder, photos[side]))
        if raw.format != "JPEG":
            fail(where, "%s is %s" % (side, raw.format))
        orientation = raw.getexif().get(0x0112, 1)
        if orientation != style["exif_orientation"]:
            fail(where, "%s EXIF orientation %s, style says %s" % (side, orientation, style["exif_orientation"]))
        upright = ImageOps.exif_transpose(raw).convert("RGB")
        if upright.size != (width, height):
            fail(where, "%s is %s upright, resolution says %s" % (side, upright.size, (width, height)))
        gray = grading.luma(np.asarray(upright))
        mean, glare = grading.exposure(gray)
        measures[side] = {"mean": mean, "glare": glare, "lap": grading.laplacian_variance(gray)}
        if side in labels:
            lab_img = Image.open(os.path.join(folder, labels[side]))
            if lab_img.mode != "L" or lab_img.format != "PNG":
                fail(where, "%s labels are %s %s" % (side, lab_img.format, lab_img.mode))
            lab = np.asarray(lab_img)
            if lab.shape != (height, width):
                fail(where, "%s labels %s, photo %s" % (side, lab.shape, (height, width)))
            if lab.max() > 5:
                fail(where, "%s labels hold class %d" % (side, lab.max()))
            maps[side] = lab
    # Each damage: one component of its class with exactly that box and area.
    for d in t["damages"]:
        if set(d) != DAMAGE_KEYS or set(d["bbox"]) != {"x", "y", "width", "height"}:
            fail(where, "damage keys %s" % sorted(d))
            continue
        if d["side"] not in maps:
            fail(where, "a damage on %s, which has no label map" % d["side"])
            continue
        lab, b = maps[d["side"]], d["bbox"]
        if b["x"] < 0 or b["y"] < 0 or b["x"] + b["width"] > lab.shape[1] or b["y"] + b["height"] > lab.shape[0]:
            fail(where, "bbox %s outside the photo" % b)
            continue
        cls = grading.DAMAGE_CLASSES[d["type"]]
        comps, _ = ndimage.label(lab == cls, structure=grading.EIGHT)
        box = comps[b["y"]: b["y"] + b["height"], b["x"]: b["x"] + b["width"]]
        ids = [i for i in np.unique(box) if i]
        match = False
        for i in ids:
            ys, xs = np.nonzero(comps == i)
            if (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) == (b["x"], b["y"], b["width"], b["height"]) \
                    and len(xs) == d["area_px"]:
                match = True
        if not match:
            fail(where, "no %s component with bbox %s and area %d" % (d["type"], b, d["area_px"]))
        if d["area_px"] < 400:
            fail(where, "a damage of %d px" % d["area_px"])
    # The worker's view of the label maps gives the truth's damages and grade.
    found = [d for side in maps for d in grading.damages(side, maps[side])]
    strip = lambda ds: sorted(json.dumps({k: d[k] for k in sorted(DAMAGE_KEYS)}, sort_keys=True) for d in ds)
    if strip(found) != strip(t["damages"]):
        fail(where, "damages differ from what the label maps give")
    e = t["expected"]
    if t["kind"] == "phone":
        grade, rule = grading.grade(found, rules)
        if e != {"status": "graded", "grade": grade, "rule": rule}:
            fail(where, "expected %s, rules give %s %s" % (e, grade, rule))
        ratio = sum(d["zone_ratio"] for d in found if d["type"] == "scratch" and d["zone"] == "screen")
        if 0.012 <= ratio <= 0.03:
            fail(where, "screen scratches total %.4f, near the 2%% rule" % ratio)
        if set(photos) != set(SIDES):
            fail(where, "a graded phone needs both sides")
        for side, m in measures.items():
            if not (40 <= m["mean"] <= 215 and m["glare"] <= 0.05 and m["lap"] >= 8):
                fail(where, "%s fails the input checks: %s" % (side, m))
            if grading.border_fraction(maps[side]) > 0.05:
                fail(where, "%s phone touches the border" % side)
            if (maps[side] != 0).mean() < 0.15:
                fail(where, "%s phone too small" % side)
    else:
        if set(e) != {"status", "code", "side"} or e["status"] != "rejected" or e["code"] not in CODES:
            fail(where, "expected %s" % e)
            return t
        side, code = e["side"], e["code"]
        m = measures.get(side)
        ok = {"missing_side": side not in photos,
              "too_dark": m is not None and m["mean"] < 40,
              "overexposed": m is not None and m["mean"] > 215,
              "blurred": m is not None and m["lap"] < 8 and 40 <= m["mean"] <= 215,
              # More than the worker's 15% of the photo, or it would say no_phone first.
              "phone_cut_off": side in maps and grading.border_fraction(maps[side]) > 0.05
                               and (maps[side] != 0).mean() >= 0.2}[code]
        if not ok:
            fail(where, "%s on %s does not hold: %s" % (code, side, m))
        for other, mo in measures.items():
            if other != side and not (40 <= mo["mean"] <= 215 and mo["glare"] <= 0.05 and mo["lap"] >= 8):
                fail(where, "the other side %s fails the input checks too: %s" % (other, mo))
    return t


def table(title, counter):
    print("%s:" % title)
    for key, n in sorted(counter.items(), key=lambda kv: str(kv[0])):
        print("  %-34s %3d" % (key, n))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "golden")
    rules = grading.load_rules()
    manifest = check_manifest(root)
    truths = [check_case(root, case, manifest, rules) for case in manifest["cases"]]
    gate = [t for t in truths if t["id"] in manifest["gate"]]
    gate_phones = [t for t in gate if t["kind"] == "phone"]
    gate_rejects = [t for t in gate if t["kind"] == "must_reject"]
    if len(gate_phones) != 3 or len({t["expected"]["grade"] for t in gate_phones}) != 3 \
            or not any(t["style"]["backdrop"] in manifest["held_out"]["backdrops"] for t in gate_phones):
        fail("gate", "needs 3 phones of different grades, one on a held-out tray")
    if len(gate_rejects) != 3 or len({t["expected"]["code"] for t in gate_rejects}) != 3:
        fail("gate", "needs 3 must-rejects of different codes")
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
    phones = [t for t in truths if t["kind"] == "phone"]
    print("golden set %s: %d cases, %.1f MB" % (root, len(truths), size / 1e6))
    table("cases by kind", collections.Counter(t["kind"] for t in truths))
    table("phones by grade (rule)", collections.Counter("%s (%s)" % (t["expected"]["grade"], t["expected"]["rule"]) for t in phones))
    table("must-rejects by code (side)", collections.Counter("%s (%s)" % (t["expected"]["code"], t["expected"]["side"])
                                                           for t in truths if t["kind"] == "must_reject"))
    table("cases by backdrop", collections.Counter(t["style"]["backdrop"] for t in truths))
    table("phones by colour", collections.Counter(t["style"]["phone_colour"] for t in phones))
    table("cases by lighting", collections.Counter(t["style"]["lighting"] for t in truths))
    table("damages by type and zone", collections.Counter("%s %s on %s" % (d["type"], d["zone"], d["side"]) for t in truths for d in t["damages"]))
    table("damage strokes (cases)", collections.Counter(s for t in truths for s in t["style"]["damage_strokes"]))
    table("phones held out / grade", collections.Counter("%s / %s" % ("held-out" if t["style"]["held_out"] else "ordinary", t["expected"]["grade"]) for t in phones))
    table("cases by resolution", collections.Counter("%dx%d" % tuple(t["style"]["resolution"]) for t in truths))
    table("cases by EXIF orientation", collections.Counter(t["style"]["exif_orientation"] for t in truths))
    print("gate: %s" % ", ".join("%s (%s)" % (t["id"], t["expected"].get("grade") or t["expected"]["code"]) for t in gate))
    if size > 16 * 1024 * 1024:
        fail("golden", "%.1f MB, over 16 MB" % (size / 1e6))
    if problems:
        print("\n%d problems:" % len(problems))
        for p in problems:
            print("  " + p)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
