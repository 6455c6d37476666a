"""Kiosk trays behind the phone, drawn as float RGB in [0, 1] (H x W x 3).

Ordinary trays: plain grey, light tray, gradient, felt.
Held-out trays (training never sees them): wood grain, rubber mat with a dot grid, brushed
metal, cork.
"""

import numpy as np
from scipy import ndimage

ORDINARY = ["plain-grey", "light-tray", "gradient", "felt"]
HELD_OUT = ["wood-grain", "rubber-dot-mat", "brushed-metal", "cork"]


def smooth_noise(rng, shape, sigma, anisotropy=(1.0, 1.0)):
    """Gaussian-filtered white noise scaled to zero mean and unit spread.

    Wide filters run on a coarser grid that is then interpolated up, which looks the same and
    costs far less.
    """
    sigmas = [sigma * anisotropy[0], sigma * anisotropy[1]]
    steps = [max(int(s / 3), 1) for s in sigmas]
    small = [-(-n // k) + 4 for n, k in zip(shape, steps)]
    field = ndimage.gaussian_filter(rng.standard_normal(small), [s / k for s, k in zip(sigmas, steps)], mode="wrap")
    if steps != [1, 1]:
        field = ndimage.zoom(field, steps, order=1)
    field = field[: shape[0], : shape[1]]
    return (field - field.mean()) / (field.std() + 1e-9)


def _rgb(shape, colour):
    return np.broadcast_to(np.asarray(colour, dtype=np.float64), shape + (3,)).copy()


def plain_grey(rng, h, w, scale):
    level = rng.uniform(0.33, 0.62)
    tint = rng.uniform(-0.015, 0.015, 3)
    img = _rgb((h, w), level + tint)
    img += 0.015 * smooth_noise(rng, (h, w), 90 * scale)[..., None]
    return img


def light_tray(rng, h, w, scale):
    level = rng.uniform(0.70, 0.80)
    tint = np.array([rng.uniform(-0.01, 0.02), 0.0, rng.uniform(-0.03, 0.01)])
    img = _rgb((h, w), level + tint)
    # A molded tray: a slightly darker rim near the photo's edges.
    yy, xx = np.mgrid[0:h, 0:w]
    rim = np.minimum.reduce([xx, w - 1 - xx, yy, h - 1 - yy]) / (40 * scale)
    img *= (0.93 + 0.07 * np.clip(rim, 0, 1))[..., None]
    img += 0.01 * smooth_noise(rng, (h, w), 60 * scale)[..., None]
    return img


def gradient(rng, h, w, scale):
    a = rng.uniform(0.2, 0.7, 3)
    a = a.mean() + (a - a.mean()) * 0.4  # muted colours
    b = np.clip(a + rng.uniform(-0.25, 0.25), 0.12, 0.8) + rng.uniform(-0.04, 0.04, 3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w]
    t = (xx - w / 2) * np.cos(angle) + (yy - h / 2) * np.sin(angle)
    t = (t - t.min()) / (t.max() - t.min())
    t = t * t * (3 - 2 * t)
    return a * (1 - t[..., None]) + b * t[..., None]


def felt(rng, h, w, scale):
    colours = {"green": (0.12, 0.32, 0.18), "navy": (0.12, 0.16, 0.32), "charcoal": (0.22, 0.22, 0.23),
               "burgundy": (0.35, 0.12, 0.15)}
    base = np.array(list(colours.values())[rng.integers(len(colours))]) * rng.uniform(0.9, 1.3)
    fibre = 0.35 * smooth_noise(rng, (h, w), 1.2) + 0.65 * smooth_noise(rng, (h, w), 2.5 * scale)
    blotch = smooth_noise(rng, (h, w), 50 * scale)
    shade = 1 + 0.06 * fibre + 0.05 * blotch
    return base * shade[..., None]


def wood_grain(rng, h, w, scale):
    palette = [((0.55, 0.36, 0.20), (0.40, 0.24, 0.12)), ((0.72, 0.55, 0.36), (0.58, 0.42, 0.26)),
               ((0.36, 0.22, 0.13), (0.25, 0.15, 0.09))]
    light, dark = (np.array(c) for c in palette[rng.integers(len(palette))])
    horizontal = rng.random() < 0.5
    along, across = (w, h) if horizontal else (h, w)
    plank = rng.uniform(120, 260) * scale
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    a, c = (xx, yy) if horizontal else (yy, xx)  # a runs along the grain, c across it
    board = np.floor(c / plank)
    offsets = rng.uniform(0, 1000, int(across / plank) + 2)
    warp = smooth_noise(rng, (h, w), 50 * scale, (4.0, 0.5) if not horizontal else (0.5, 4.0)) * 14 * scale
    period = rng.uniform(20.0, 45.0) * scale
    rings = np.sin(2 * np.pi * (c + warp + 0.02 * a) / period + offsets[board.astype(int)])
    rings = 0.5 + 0.5 * np.sign(rings) * np.abs(rings) ** 0.6
    streak = smooth_noise(rng, (h, w), 1.5 * scale, (8.0, 0.4) if not horizontal else (0.4, 8.0))
    t = np.clip(0.6 * rings + 0.12 * streak + 0.2, 0, 1)
    img = light * (1 - t[..., None]) + dark * t[..., None]
    img *= (1 + 0.06 * (offsets[board.astype(int)] % 1 - 0.5))[..., None]  # boards differ a little
    seam = np.abs(c - (board + 0.5) * plank) > plank / 2 - 1.2 * scale
    img[seam] *= 0.55
    return img


def rubber_dot_mat(rng, h, w, scale):
    base = np.array([(0.10, 0.10, 0.11), (0.16, 0.17, 0.20), (0.08, 0.14, 0.24)][rng.integers(3)])
    base = base * rng.uniform(1.0, 1.6)
    pitch = rng.uniform(18, 30) * scale
    radius = pitch * rng.uniform(0.18, 0.3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    ox, oy = rng.uniform(0, pitch, 2)
    gx = (xx - ox) / pitch
    gy = (yy - oy) / pitch
    dx = (gx - np.round(gx)) * pitch
    dy = (gy - np.round(gy)) * pitch
    d = np.hypot(dx, dy)
    dot = np.clip(radius + 0.5 - d, 0, 1)
    # Raised dots: lit from the top left, a shadow to the bottom right.
    lit = np.clip(radius + 0.5 - np.hypot(dx + radius * 0.35, dy + radius * 0.35), 0, 1)
    shadow = np.clip(radius + 0.5 - np.hypot(dx - radius * 0.3, dy - radius * 0.3), 0, 1) * (1 - dot)
    shade = 1 + 0.35 * dot + 0.25 * lit - 0.3 * shadow
    shade += 0.03 * smooth_noise(rng, (h, w), 1.0)
    return base * shade[..., None]


def brushed_metal(rng, h, w, scale):
    level = rng.uniform(0.45, 0.68)
    tint = np.array([0.0, 0.005, 0.02]) * rng.uniform(0, 1)
    horizontal = rng.random() < 0.5
    aniso = (0.15, 30.0) if horizontal else (30.0, 0.15)
    streaks = 0.6 * smooth_noise(rng, (h, w), 1.0, aniso) + 0.4 * smooth_noise(rng, (h, w), 3.0, aniso)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    across = yy if horizontal else xx
    size = h if horizontal else w
    band = np.exp(-((across - rng.uniform(0.2, 0.8) * size) / (0.25 * size)) ** 2)
    shade = level * (1 + 0.06 * streaks) + 0.08 * band
    return shade[..., None] + tint


def cork(rng, h, w, scale):
    light = np.array([0.70, 0.52, 0.34]) * rng.uniform(0.85, 1.05)
    dark = np.array([0.42, 0.27, 0.15]) * rng.uniform(0.85, 1.05)
    granules = 0.55 * smooth_noise(rng, (h, w), 1.6 * scale) + 0.45 * smooth_noise(rng, (h, w), 4.0 * scale)
    t = 1 / (1 + np.exp(-2.2 * granules))
    pits = smooth_noise(rng, (h, w), 1.2 * scale) > 2.0
    img = light * (1 - t[..., None]) + dark * t[..., None]
    img[pits] *= 0.6
    return img


DRAW = {"plain-grey": plain_grey, "light-tray": light_tray, "gradient": gradient, "felt": felt,
        "wood-grain": wood_grain, "rubber-dot-mat": rubber_dot_mat, "brushed-metal": brushed_metal, "cork": cork}


def draw(name, rng, h, w):
    scale = w / 720.0
    return np.clip(DRAW[name](rng, h, w, scale), 0.0, 1.0)
