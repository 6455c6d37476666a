"""The serving pipeline's damages and grade, in numpy: `find_damages` and `grade`.

Each function mirrors Sources/Core/Service/FindDamages.swift or GradeRules.swift with the same
semantics (8-connected components found in row-major order, zones from the model's classes,
severity from the zone ratio, the first grade rule that holds), so that a damage found here is
the damage the worker reports: same box, area, zone, ratio and severity.
"""
import math

import numpy as np

ZONE_NONE, ZONE_SCREEN, ZONE_EDGE, ZONE_BODY, ZONE_CORNER = 0, 1, 2, 3, 4
ZONE_NAMES = {ZONE_SCREEN: "screen", ZONE_EDGE: "edge", ZONE_BODY: "body", ZONE_CORNER: "corner"}
ZONE_CLASSES = ["none", "screen", "edge", "body", "corner"]


def components(member: np.ndarray):
    """8-connected components of the True pixels of an HxW bool array.

    Returns a list of components in the order of their first pixel in row-major order (the
    order in which the Swift scan finds them). Each is a dict with `runs` (a list of
    (y, x_start, x_end) with x_end exclusive), `area` and `bbox` (x, y, width, height).
    Works on runs of pixels per row, joined by union-find, so a photo takes milliseconds.
    """
    height, width = member.shape
    padded = np.zeros((height, width + 2), np.int8)
    padded[:, 1:-1] = member
    step = np.diff(padded, axis=1)
    starts_y, starts_x = np.nonzero(step == 1)
    _, ends_x = np.nonzero(step == -1)
    count = len(starts_y)
    if count == 0:
        return []
    parent = list(range(count))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    row_first = np.searchsorted(starts_y, np.arange(height + 1))
    for y in range(1, height):
        previous = range(row_first[y - 1], row_first[y])
        current = range(row_first[y], row_first[y + 1])
        if not previous or not current:
            continue
        p = previous.start
        for c in current:
            # Runs of the row above touch this one (8-connected) when they overlap by x +- 1.
            while p < previous.stop and ends_x[p] < starts_x[c]:
                p += 1
            q = p
            while q < previous.stop and starts_x[q] <= ends_x[c]:
                a, b = find(q), find(c)
                if a != b:
                    parent[max(a, b)] = min(a, b)
                q += 1
    groups = {}
    for i in range(count):
        groups.setdefault(find(i), []).append(i)
    found = []
    for root in sorted(groups, key=lambda r: groups[r][0]):
        runs = [(int(starts_y[i]), int(starts_x[i]), int(ends_x[i])) for i in groups[root]]
        ys = [r[0] for r in runs]
        x0 = min(r[1] for r in runs)
        x1 = max(r[2] for r in runs)
        found.append({"runs": runs, "area": sum(r[2] - r[1] for r in runs),
                      "bbox": (x0, min(ys), x1 - x0, max(ys) - min(ys) + 1)})
    # The component whose first pixel comes first in row-major order comes first.
    found.sort(key=lambda c: (c["runs"][0][0], c["runs"][0][1]))
    return found


def zones(labels: np.ndarray, background: int, screen, edge_px: int, corner_fraction: float) -> np.ndarray:
    """The zone of every pixel (ZONE_*), as FindDamages.zones computes it. `screen` is None on a
    side without a screen: its screen pixels are body."""
    height, width = labels.shape
    device = labels != background
    out = np.zeros((height, width), np.uint8)
    if not device.any():
        return out
    ys, xs = np.nonzero(device)
    min_x, max_x, min_y, max_y = xs.min(), xs.max(), ys.min(), ys.max()
    reach = int(float(min(max_x - min_x + 1, max_y - min_y + 1)) * corner_fraction)
    # Within edge_px 4-neighbour steps of the background, the outside of the photo counting as
    # background: grow the background edge_px times (the Swift code's two-pass distance).
    reached = np.ones((height + 2, width + 2), bool)
    reached[1:-1, 1:-1] = ~device
    for _ in range(edge_px):
        grown = reached.copy()
        grown[1:, :] |= reached[:-1, :]
        grown[:-1, :] |= reached[1:, :]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        reached = grown
    edge = reached[1:-1, 1:-1] & device if edge_px > 0 else np.zeros_like(device)
    columns = np.arange(width)
    near_x = (columns - min_x <= reach) | (max_x - columns <= reach)
    rows = np.arange(height)
    near_y = (rows - min_y <= reach) | (max_y - rows <= reach)
    corner = near_y[:, None] & near_x[None, :]
    is_screen = labels == screen if screen is not None else np.zeros_like(device)
    has_screen = is_screen.any(axis=1)
    first = np.where(has_screen, is_screen.argmax(axis=1), width)
    last = np.where(has_screen, width - 1 - is_screen[:, ::-1].argmax(axis=1), -1)
    in_span = (columns[None, :] >= first[:, None]) & (columns[None, :] <= last[:, None])
    out[device] = ZONE_BODY
    out[device & edge & ~corner] = ZONE_EDGE
    out[device & edge & corner] = ZONE_CORNER
    out[device & in_span] = ZONE_SCREEN
    return out


# The sides a job may have, as the worker names them (Side.swift).
SIDES = ("front", "back", "left", "right", "top", "bottom")


def merged_components(labels, merging):
    """Components of the pixels whose label is in `merging` (a list of (label, weight) in
    priority order), each with the label it takes: the largest weight times pixels, the first
    on a tie. Returns {label: [component, ...]} with each list in first-pixel order."""
    out = {label: [] for label, _ in merging}
    if not merging:
        return out
    for component in components(np.isin(labels, [label for label, _ in merging])):
        pixels = np.zeros(256, np.int64)
        for y, x0, x1 in component["runs"]:
            pixels += np.bincount(labels[y, x0:x1], minlength=256)
        winner, best = merging[0][0], -1
        for label, weight in merging:
            if pixels[label] * weight > best:
                winner, best = label, pixels[label] * weight
        out[winner].append(component)
    return out


def spread(runs):
    """The two eigenvalues of n^2 times the covariance of a component's pixel coordinates, as
    (mean, root): the larger is mean + root, the smaller mean - root. The sums are exact integers
    and go to floats in the same steps as FindDamages.isElongated."""
    n = sx = sy = sxx = syy = sxy = 0
    for y, x0, x1 in runs:
        count = x1 - x0
        row_x = (x0 + x1 - 1) * count // 2
        row_xx = ((x1 - 1) * x1 * (2 * x1 - 1) - (x0 - 1) * x0 * (2 * x0 - 1)) // 6
        n += count
        sx += row_x
        sy += y * count
        sxx += row_xx
        syy += y * y * count
        sxy += y * row_x
    a, b, c = float(n * sxx - sx * sx), float(n * syy - sy * sy), float(n * sxy - sx * sy)
    half, mean = (a - b) / 2, (a + b) / 2
    return mean, math.sqrt(half * half + c * c)


def is_elongated(runs, limit) -> bool:
    """Whether a component's pixels spread more than `limit` times as far along their long axis
    as across it: the square root of the ratio of the two eigenvalues of their coordinates'
    covariance (`spread`) above `limit`. One pixel, or none, is not elongated."""
    mean, root = spread(runs)
    return mean + root > limit * limit * (mean - root)


def find_damages(masks, classes, damage_classes, min_area_px=30, edge_px=12, corner_fraction=0.15,
                 moderate_ratio=0.002, severe_ratio=0.01, screen_sides=("front",), min_area_px_by_type=None,
                 merge_types=(), merge_weights=None, retype_elongated=None, elongation_limit=7.0):
    """Damages of all sides, in the worker's order (side, damage class, first pixel), and the
    zone masks by side. `masks` maps side to an HxW uint8 label array, in side order. Only the
    sides in `screen_sides` have a screen zone. A damage type in `min_area_px_by_type` has that
    smallest area instead of `min_area_px`. The types in `merge_types` make one damage where
    their pixels touch, of the type with the most pixels times `merge_weights[type]` (default 1).
    A damage of a type in `retype_elongated` whose elongation (`is_elongated`) is above
    `elongation_limit` takes the type it maps to, and that type's smallest area."""
    if isinstance(screen_sides, str) or not set(screen_sides) <= set(SIDES):
        raise ValueError(f"screen_sides must be a list of sides ({', '.join(SIDES)}), not {screen_sides!r}")
    if len(set(damage_classes)) != len(damage_classes):
        raise ValueError(f"damage_classes must name each class once, not {list(damage_classes)!r}")
    by_type = {} if min_area_px_by_type is None else min_area_px_by_type
    if (not isinstance(by_type, dict) or not set(by_type) <= set(damage_classes)
            or not all(type(v) is int and 1 <= v <= 1_000_000 for v in by_type.values())):
        raise ValueError(f"min_area_px_by_type must map some of {list(damage_classes)} to areas of 1 to "
                         f"1000000 px, not {by_type!r}")
    weights = {} if merge_weights is None else merge_weights
    if (isinstance(merge_types, str) or not set(merge_types) <= set(damage_classes)
            or len(set(merge_types)) != len(merge_types)):
        raise ValueError(f"merge_types must list some of {list(damage_classes)} once each, not {merge_types!r}")
    if (not isinstance(weights, dict) or not set(weights) <= set(merge_types)
            or not all(type(v) is int and 1 <= v <= 1000 for v in weights.values())):
        raise ValueError(f"merge_weights must map some of {list(merge_types)} to weights of 1 to 1000, not {weights!r}")
    retype = {} if retype_elongated is None else retype_elongated
    if (not isinstance(retype, dict) or not set(retype) <= set(damage_classes)
            or not all(isinstance(v, str) and v in damage_classes and v != k for k, v in retype.items())):
        raise ValueError(f"retype_elongated must map some of {list(damage_classes)} to another of them, not {retype!r}")
    if isinstance(elongation_limit, bool) or not isinstance(elongation_limit, (int, float)) or not 1 <= elongation_limit <= 1000:
        raise ValueError(f"elongation_limit must be a number from 1 to 1000, not {elongation_limit!r}")
    found, zone_masks = [], {}
    for side, labels in masks.items():
        if "background" not in classes or "screen" not in classes:
            raise ValueError(f"the mask's classes {classes} lack 'background' or 'screen'")
        screen = classes.index("screen") if side in screen_sides else None
        zone = zones(labels, classes.index("background"), screen, edge_px, corner_fraction)
        zone_masks[side] = zone
        zone_area = np.bincount(zone.ravel(), minlength=5)
        merging = [(classes.index(name), weights.get(name, 1)) for name in merge_types if name in classes]
        merged = merged_components(labels, merging)
        by_name = {name: [] for name in damage_classes}
        for name in damage_classes:
            if name not in classes:
                continue
            label = classes.index(name)
            for component in merged[label] if label in merged else components(labels == label):
                to = retype.get(name)
                by_name[to if to is not None and is_elongated(component["runs"], elongation_limit) else name].append(component)
        for name in damage_classes:
            # A retyped damage takes its place among its new type's, by first pixel.
            for component in sorted(by_name[name], key=lambda c: (c["runs"][0][0], c["runs"][0][1])):
                area = component["area"]
                if area < by_type.get(name, min_area_px):
                    continue
                votes = np.zeros(5, np.int64)
                for y, x0, x1 in component["runs"]:
                    votes += np.bincount(zone[y, x0:x1], minlength=5)
                votes[ZONE_NONE] = 0
                # Most pixels wins; a tie goes to the lower zone number, as in Swift.
                best = int(np.argmax(votes)) if votes.any() else ZONE_BODY
                ratio = area / max(int(zone_area[best]) or 1, 1)
                x, y, w, h = component["bbox"]
                found.append({
                    "side": side, "type": name, "zone": ZONE_NAMES.get(best, "body"),
                    "bbox": {"x": x, "y": y, "width": w, "height": h},
                    "area_px": area, "zone_ratio": min(ratio, 1.0),
                    "severity": "severe" if ratio >= severe_ratio else "moderate" if ratio >= moderate_ratio else "minor",
                })
    return found, zone_masks


def _names(value):
    if value is None:
        return None
    return set(value) if isinstance(value, list) else {str(value)}


def grade(rules, damages):
    """The first rule of a grade rules file (its parsed YAML) whose `when` holds: {value, rule}."""
    for rule in rules["rules"]:
        when = rule.get("when") or {}
        if rule_holds(when, damages):
            return {"value": str(rule["grade"]), "rule": str(rule["name"])}
    last = rules["rules"][-1]
    return {"value": str(last["grade"]), "rule": str(last["name"])}


def rule_holds(when, damages) -> bool:
    if not when:
        return True
    wanted = {key: _names(when.get(key)) for key in ("type", "zone", "side", "severity")}
    selected = [d for d in damages if all(names is None or d[key] in names for key, names in wanted.items())]
    if when.get("none", False):
        return not selected
    if "total_zone_ratio_over" in when:
        total = 0.0
        for damage in selected:
            total += damage["zone_ratio"]
        return total > float(when["total_zone_ratio_over"])
    return len(selected) >= int(when.get("count_at_least", 1))
