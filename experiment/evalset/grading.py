"""Damages and grades from a label map, the way the worker finds them from its mask.

This mirrors `find_damages` (Sources/Core/Service/FindDamages.swift) and the grade rules
(Sources/Core/Service/GradeRules.swift), written again in numpy: damages are 8-connected
components of each damage class; the zones come from the classes (screen row spans, an edge
band of `edge_px` 4-neighbour steps from the background, corners of the device's box, the rest
body); the grade is the first rule of config/grading.yaml that holds.
"""

import os

import numpy as np
import yaml
from scipy import ndimage

CLASSES = ["background", "body", "screen", "crack", "scratch", "chip"]
BACKGROUND, BODY, SCREEN, CRACK, SCRATCH, CHIP = range(6)
DAMAGE_CLASSES = {"crack": CRACK, "scratch": SCRATCH, "chip": CHIP}

# The zones' numbers are those of FindDamages.Zone; ties in a damage's vote go to the lower one.
ZONE_NONE, ZONE_SCREEN, ZONE_EDGE, ZONE_BODY, ZONE_CORNER = range(5)
ZONE_NAMES = {ZONE_SCREEN: "screen", ZONE_EDGE: "edge", ZONE_BODY: "body", ZONE_CORNER: "corner"}

# The worker's settings (config/pipeline.yaml, find_damages and its defaults).
MIN_AREA_PX = 150
EDGE_PX = 12
CORNER_FRACTION = 0.15
MODERATE_RATIO = 0.002
SEVERE_RATIO = 0.01

EIGHT = np.ones((3, 3), dtype=bool)
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def zones(labels, edge_px=EDGE_PX, corner_fraction=CORNER_FRACTION):
    """The zone of every pixel of a label map (uint8 H x W), as FindDamages.zones computes it."""
    height, width = labels.shape
    device = labels != BACKGROUND
    out = np.zeros(labels.shape, dtype=np.uint8)
    if not device.any():
        return out
    ys, xs = np.nonzero(device)
    min_x, max_x, min_y, max_y = xs.min(), xs.max(), ys.min(), ys.max()
    reach = int(min(max_x - min_x + 1, max_y - min_y + 1) * corner_fraction)
    # City-block steps to the background; outside the photo counts as background.
    padded = np.pad(device, 1, constant_values=False)
    distance = ndimage.distance_transform_cdt(padded, metric="taxicab")[1:-1, 1:-1]
    col = np.arange(width)[None, :]
    row = np.arange(height)[:, None]
    near_x = (col - min_x <= reach) | (max_x - col <= reach)
    near_y = (row - min_y <= reach) | (max_y - row <= reach)
    corner = near_x & near_y
    screen = labels == SCREEN
    has = screen.any(axis=1)
    first = np.where(has, screen.argmax(axis=1), width)
    last = np.where(has, width - 1 - screen[:, ::-1].argmax(axis=1), -1)
    in_span = (col >= first[:, None]) & (col <= last[:, None])
    edge = distance <= edge_px
    out[device] = ZONE_BODY
    out[device & edge & ~corner] = ZONE_EDGE
    out[device & edge & corner] = ZONE_CORNER
    out[device & in_span] = ZONE_SCREEN
    return out


def damages(side, labels, min_area=MIN_AREA_PX):
    """The located damages of one side's label map: dicts with the result's fields."""
    zone_map = zones(labels)
    zone_area = {z: int((zone_map == z).sum()) for z in ZONE_NAMES}
    found = []
    for name, label in DAMAGE_CLASSES.items():
        components, count = ndimage.label(labels == label, structure=EIGHT)
        for index, box in enumerate(ndimage.find_objects(components), start=1):
            part = components[box] == index
            area = int(part.sum())
            if area < min_area:
                continue
            votes = np.bincount(zone_map[box][part], minlength=5)
            votes[ZONE_NONE] = 0
            zone = int(np.argmax(votes))  # argmax takes the lowest number on a tie, as the worker does
            ratio = min(area / max(zone_area[zone], 1), 1.0)
            found.append({
                "side": side, "type": name, "zone": ZONE_NAMES[zone],
                "bbox": {"x": int(box[1].start), "y": int(box[0].start),
                         "width": int(box[1].stop - box[1].start), "height": int(box[0].stop - box[0].start)},
                "area_px": area,
                "zone_ratio": ratio,
                "severity": "severe" if ratio >= SEVERE_RATIO else "moderate" if ratio >= MODERATE_RATIO else "minor",
            })
    return found


def load_rules(path=None):
    path = path or os.path.join(REPO, "config", "grading.yaml")
    with open(path) as f:
        return yaml.safe_load(f)["rules"]


def _names(value):
    if value is None:
        return None
    return set(value) if isinstance(value, list) else {value}


def rule_holds(rule, found):
    when = rule.get("when") or {}
    if not when:
        return True
    types, zones_, sides, severities = (_names(when.get(k)) for k in ("type", "zone", "side", "severity"))
    selected = [d for d in found
                if (types is None or d["type"] in types) and (zones_ is None or d["zone"] in zones_)
                and (sides is None or d["side"] in sides) and (severities is None or d["severity"] in severities)]
    if when.get("none"):
        return not selected
    if "total_zone_ratio_over" in when:
        return sum(d["zone_ratio"] for d in selected) > float(when["total_zone_ratio_over"])
    return len(selected) >= int(when.get("count_at_least", 1))


def grade(found, rules=None):
    """(grade, rule name): the first rule that holds."""
    rules = rules if rules is not None else load_rules()
    for rule in rules:
        if rule_holds(rule, found):
            return rule["grade"], rule["name"]
    return rules[-1]["grade"], rules[-1]["name"]


def luma(rgb):
    """BT.601 luma as the worker's grayscale computes it, from uint8 RGB (H x W x 3)."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((299 * r + 587 * g + 114 * b + 500) // 1000).astype(np.uint8)


def laplacian_variance(gray):
    """The worker's blur measure: variance of the 4-neighbour Laplacian over interior pixels."""
    g = gray.astype(np.int64)
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
    return float(lap.astype(np.float64).var())


def exposure(gray, glare_level=250):
    """(mean brightness, glare fraction) as check_exposure measures them."""
    return float(gray.mean()), float((gray >= glare_level).mean())


def border_fraction(labels):
    """The fraction of the photo's border on the largest device region (check_device's measure)."""
    components, count = ndimage.label(labels != BACKGROUND, structure=EIGHT)
    if count == 0:
        return 0.0
    sizes = np.bincount(components.ravel())
    sizes[0] = 0
    phone = components == int(np.argmax(sizes))
    border = np.concatenate([phone[0, :], phone[-1, :], phone[1:-1, 0], phone[1:-1, -1]])
    return float(border.mean())
