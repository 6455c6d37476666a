"""Synthetic kiosk photos of used phones, with per-pixel class labels.

A photo shows one side of one phone lying on a kiosk tray: a rounded-rectangle body, a screen
on the front, a camera bump on the back, and optional damage: branching cracks from an impact
point, thin straight scratches, and chips at edges and corners. The phone is rendered flat in
its own coordinates, then placed with a small rotation and perspective, under a lighting
gradient with sensor noise.

Class labels (index = value in the label map):
"""
from dataclasses import dataclass, field

import numpy as np

CLASSES = ["background", "body", "screen", "crack", "scratch", "chip"]
BACKGROUND, BODY, SCREEN, CRACK, SCRATCH, CHIP = range(len(CLASSES))

BODY_COLOURS = [(28, 28, 32), (236, 236, 232), (40, 70, 120), (196, 172, 130), (170, 172, 176),
                (120, 30, 40), (60, 90, 70), (210, 190, 200)]


@dataclass
class Spec:
    """What to draw: which side, and how much of each kind of damage."""
    side: str = "front"
    cracks: int = 0
    scratches: int = 0
    chips: int = 0
    colour: int | None = None
    extras: dict = field(default_factory=dict)


def random_spec(rng: np.random.Generator, side: str | None = None) -> Spec:
    """A spec drawn the way the training set draws them: about a third of phones are clean."""
    side = side or ("front" if rng.random() < 0.5 else "back")
    spec = Spec(side=side, colour=int(rng.integers(len(BODY_COLOURS))))
    roll = rng.random()
    if roll < 0.3:
        return spec
    spec.cracks = int(rng.random() < 0.45)
    spec.scratches = int(rng.integers(0, 4)) if rng.random() < 0.6 else 0
    spec.chips = int(rng.integers(1, 3)) if rng.random() < 0.35 else 0
    return spec


def _rounded_rect(h, w, top, left, bottom, right, radius):
    """Boolean mask of a rounded rectangle inside an h x w grid."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    cx = np.clip(x, left + radius, right - radius)
    cy = np.clip(y, top + radius, bottom - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2


def _stamp_segment(canvas, labels, allowed, p0, p1, thickness, colour, alpha, label):
    """Draws a thick segment, blending colour and writing label where `allowed`."""
    h, w = labels.shape
    pad = thickness + 1
    x0, x1 = int(max(0, min(p0[0], p1[0]) - pad)), int(min(w, max(p0[0], p1[0]) + pad + 1))
    y0, y1 = int(max(0, min(p0[1], p1[1]) - pad)), int(min(h, max(p0[1], p1[1]) + pad + 1))
    if x0 >= x1 or y0 >= y1:
        return
    y, x = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
    d = np.asarray(p1, np.float32) - np.asarray(p0, np.float32)
    length2 = float(d @ d) or 1.0
    t = np.clip(((x - p0[0]) * d[0] + (y - p0[1]) * d[1]) / length2, 0, 1)
    dist = np.hypot(x - (p0[0] + t * d[0]), y - (p0[1] + t * d[1]))
    hit = (dist <= thickness / 2) & allowed[y0:y1, x0:x1]
    region = canvas[y0:y1, x0:x1]
    region[hit] = region[hit] * (1 - alpha) + np.asarray(colour, np.float32) * alpha
    labels[y0:y1, x0:x1][hit] = label


def _draw_crack(rng, canvas, labels, allowed, scale):
    ys, xs = np.nonzero(allowed)
    # Impacts land away from the area's border, so that the crack spreads across it.
    cy, cx = ys.mean(), xs.mean()
    inner = (np.abs(ys - cy) < 0.35 * np.ptp(ys)) & (np.abs(xs - cx) < 0.3 * np.ptp(xs))
    ys, xs = ys[inner], xs[inner]
    pick = rng.integers(len(ys))
    impact = np.array([xs[pick], ys[pick]], np.float32)
    brightness = rng.uniform(170, 245)
    count = int(rng.integers(4, 8))
    branches = [(impact, k * 2 * np.pi / count + rng.uniform(-0.4, 0.4), rng.uniform(160, 420) * scale)
                for k in range(count)]
    while branches:
        point, angle, remaining = branches.pop()
        thickness = rng.uniform(1.6, 3.0) * scale
        while remaining > 0:
            step = rng.uniform(6, 14) * scale
            angle += rng.normal(0, 0.35)
            nxt = point + step * np.array([np.cos(angle), np.sin(angle)], np.float32)
            _stamp_segment(canvas, labels, allowed, point, nxt, thickness, (brightness,) * 3, 0.85, CRACK)
            point, remaining = nxt, remaining - step
            if rng.random() < 0.06 and remaining > 30 * scale:
                branches.append((point.copy(), angle + rng.choice([-1, 1]) * rng.uniform(0.4, 1.1),
                                 remaining * rng.uniform(0.3, 0.7)))


def random_point(rng, allowed) -> np.ndarray:
    """A random pixel of the `allowed` mask, as an (x, y) point."""
    ys, xs = np.nonzero(allowed)
    pick = rng.integers(len(ys))
    return np.array([xs[pick], ys[pick]], np.float32)


def lifted_colour(canvas, point, lift):
    """The canvas colour under `point` (clamped to the canvas), brightened by `lift`."""
    y = int(np.clip(point[1], 0, canvas.shape[0] - 1))
    x = int(np.clip(point[0], 0, canvas.shape[1] - 1))
    return np.clip(canvas[y, x] + lift, 0, 255)


def _draw_scratch(rng, canvas, labels, allowed, scale):
    start = random_point(rng, allowed)
    angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(80, 260) * scale
    bend = rng.normal(0, 0.04)
    lift = rng.uniform(60, 110)
    pieces = max(2, int(length / (10 * scale)))
    point = start
    for _ in range(pieces):
        angle += bend
        nxt = point + (length / pieces) * np.array([np.cos(angle), np.sin(angle)], np.float32)
        colour = lifted_colour(canvas, point, lift)
        _stamp_segment(canvas, labels, allowed, point, nxt, rng.uniform(2.0, 3.2) * scale, colour, 0.8, SCRATCH)
        point = nxt


def _draw_chip(rng, canvas, labels, body, scale):
    """Bites an irregular notch out of the body's outline, showing bare material."""
    h, w = body.shape
    edge = body & ~np.roll(body, 3, 0) | body & ~np.roll(body, -3, 0) | body & ~np.roll(body, 3, 1) \
        | body & ~np.roll(body, -3, 1)
    ys, xs = np.nonzero(edge)
    pick = rng.integers(len(ys))
    cx, cy = xs[pick], ys[pick]
    radius = rng.uniform(12, 24) * scale
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = np.arctan2(y - cy, x - cx)
    wobble = 1 + 0.25 * np.sin(3 * angle + rng.uniform(0, 6)) + 0.15 * np.sin(5 * angle + rng.uniform(0, 6))
    blob = (np.hypot(x - cx, y - cy) <= radius * wobble) & body
    # Bare material contrasts with the finish: light metal on dark phones, dark on light ones.
    light_body = canvas[body].mean() > 128
    bare = np.array((95, 92, 90) if light_body else (215, 215, 220), np.float32)
    canvas[blob] = bare + rng.normal(0, 8, (int(blob.sum()), 3))
    labels[blob] = CHIP


def _homography(src, dst):
    """The 3x3 matrix taking four src points to four dst points."""
    rows = []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    _, _, vt = np.linalg.svd(np.asarray(rows, np.float64))
    return vt[-1].reshape(3, 3) / vt[-1, -1]


def warp(pw, ph, corners, placed, height, width):
    """Where each photo pixel looks in the flat pw x ph phone, when the homography takes
    `corners` to `placed`: (column, row, inside the phone, photo x, photo y), by nearest."""
    inverse = np.linalg.inv(_homography(corners, placed))
    oy, ox = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    denom = inverse[2, 0] * ox + inverse[2, 1] * oy + inverse[2, 2]
    u = (inverse[0, 0] * ox + inverse[0, 1] * oy + inverse[0, 2]) / denom - 0.5
    v = (inverse[1, 0] * ox + inverse[1, 1] * oy + inverse[1, 2]) / denom - 0.5
    inside = (u >= 0) & (u <= pw - 1) & (v >= 0) & (v <= ph - 1)
    ui, vi = np.clip(np.rint(u), 0, pw - 1).astype(int), np.clip(np.rint(v), 0, ph - 1).astype(int)
    return ui, vi, inside, ox, oy


def render(rng: np.random.Generator, spec: Spec, height: int = 1440, width: int = 720):
    """Renders one photo: returns (rgb uint8 HxWx3, labels uint8 HxW)."""
    scale = height / 1440
    # The phone, flat, in its own pixels.
    ph = int(height * rng.uniform(0.66, 0.82))
    pw = int(ph / rng.uniform(1.95, 2.15))
    radius = pw * rng.uniform(0.09, 0.14)
    body = _rounded_rect(ph, pw, 0, 0, ph, pw, radius)
    colour = np.array(BODY_COLOURS[spec.colour if spec.colour is not None else rng.integers(len(BODY_COLOURS))],
                      np.float32)
    yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float32)
    sheen = 1 + 0.08 * np.sin((xx / pw + yy / ph) * rng.uniform(2, 4) + rng.uniform(0, 6))
    canvas = colour * sheen[..., None]
    labels = np.where(body, BODY, BACKGROUND).astype(np.uint8)
    if spec.side == "front":
        margin_x, margin_y = pw * rng.uniform(0.035, 0.055), ph * rng.uniform(0.03, 0.05)
        screen = _rounded_rect(ph, pw, margin_y, margin_x, ph - margin_y, pw - margin_x, radius * 0.8)
        glow = rng.uniform(8, 30) + 25 * np.clip((xx / pw - yy / ph) + rng.uniform(-0.3, 0.3), 0, 1)
        canvas[screen] = np.stack([glow, glow, glow * 1.08], -1)[screen]
        labels[screen] = SCREEN
        damage_area = screen
    else:
        cam_r = pw * 0.11
        for cy, cx in [(pw * 0.18, pw * 0.2), (pw * 0.4, pw * 0.2)]:
            lens = (xx - cx) ** 2 + (yy - cy) ** 2 <= cam_r ** 2
            canvas[lens] = (18, 18, 22)
        damage_area = body & ~((xx < pw * 0.38) & (yy < pw * 0.58))
    for _ in range(spec.cracks):
        _draw_crack(rng, canvas, labels, damage_area & (labels != CHIP), scale)
    for _ in range(spec.scratches):
        _draw_scratch(rng, canvas, labels, damage_area & (labels != CHIP), scale)
    for _ in range(spec.chips):
        _draw_chip(rng, canvas, labels, body, scale)

    # Place it: rotate a little, tilt a little, keep it mostly in frame.
    angle = np.deg2rad(rng.uniform(-5, 5))
    cx = width / 2 + rng.uniform(-0.06, 0.06) * width
    cy = height / 2 + rng.uniform(-0.05, 0.05) * height
    corners = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float64) - [pw / 2, ph / 2]
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    placed = corners @ rot.T + [cx, cy] + rng.uniform(-0.006, 0.006, (4, 2)) * [width, height]
    ui, vi, inside, ox, oy = warp(pw, ph, corners + [pw / 2, ph / 2], placed, height, width)
    out_labels = np.where(inside, labels[vi, ui], BACKGROUND).astype(np.uint8)
    phone_pixels = canvas[vi, ui]

    # The tray, a soft shadow, the phone, then light and noise.
    tray = np.array(rng.uniform(95, 175, 3), np.float32)
    image = np.broadcast_to(tray, (height, width, 3)).copy()
    image += rng.normal(0, 4, (height // 8 + 1, width // 8 + 1, 1)).repeat(8, 0).repeat(8, 1)[:height, :width]
    shadow = np.roll(np.roll(out_labels != BACKGROUND, int(10 * scale), 0), int(8 * scale), 1)
    image[shadow] *= 0.72
    phone = out_labels != BACKGROUND
    image[phone] = phone_pixels[phone]
    light = 1 + rng.uniform(-0.18, 0.18) * (ox / width - 0.5) + rng.uniform(-0.18, 0.18) * (oy / height - 0.5)
    light *= rng.uniform(0.85, 1.15)
    image = image * light[..., None] + rng.normal(0, rng.uniform(1.5, 4), image.shape)
    # A light 3-tap blur, as a kiosk lens gives.
    image = (image + np.roll(image, 1, 0) + np.roll(image, 1, 1)) / 3
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), out_labels
