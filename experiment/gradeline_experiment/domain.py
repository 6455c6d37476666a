"""Domain-randomized kiosk photos for training: many trays, lights, cameras, phones and damage styles.

`synth.render` draws one look: a mid-grey tray, a soft light and eight body colours. A model
trained only on it labels a plain light tray as phone body. This renderer draws the same
scene with everything a kiosk may vary drawn at random, so that the model learns the phone,
not the look:

- trays: flat greys, whites and near-blacks, two-colour gradients, woven fabric, paper,
  printed tray markings, colours close to the phone's own, and generic textures in any shade
  and contrast: anisotropic streaks at any angle, dead-leaves grains and blotches, multi-octave
  mottle and speckle, and regular stripes, checkers, hatches and diamond grids (run 5 called
  textured held-out trays phone body; these teach "texture is not the phone" without drawing
  the held-out trays themselves);
- light: direction, vignetting, colour temperature, and specular highlights on glass;
- camera: defocus, motion blur, sensor noise, JPEG at quality 60 to 95, scale (the phone is
  45 to 90% of the frame height), a slight perspective, and slight crops at the border;
- phones: aspect 1.9 to 2.3, corner radius, bezel width, a notch or punch-hole, camera bump
  layouts with flashes, cases, and glossy glass backs inside a frame line;
- damage: spider-web and single-line cracks, shattered corners, scratch clusters, straight and
  curved scratches (cracks and scratches share widths and contrast and differ in shape: cracks
  kink and fork, scratches run smooth), edge notches, corner breaks and exposed frame metal;
- empty trays (4% of the photos), so that a photo with no phone has no phone in its mask;
- lookalikes that are not damage, so that the model learns the difference: the bright rim of a
  bevel, outlines round camera bumps and lenses, antenna seams, logos and print, sharp
  reflections and dust on glass, and tinted glass.

Some styles are held out for the evaluation set (experiment/evalset/README.md) and are never
drawn here: wood grain, dot-grid rubber mats, brushed metal and cork trays; teal and cyan
bodies (hue 160 to 200 degrees, saturation over 0.3); and light warmer than about 3200 K or
with a green fluorescent cast.
"""
import colorsys
import io

import numpy as np
from scipy import ndimage

from . import synth
from .synth import BACKGROUND, BODY, CHIP, CRACK, SCRATCH, SCREEN

# Finishes people buy phones in: black, white, silver, graphite, gold, navy, red, pink, green.
COMMON_COLOURS = [(22, 22, 26), (240, 240, 236), (196, 198, 202), (70, 72, 78), (214, 190, 150),
                  (36, 52, 92), (150, 24, 36), (226, 190, 196), (64, 96, 72), (120, 100, 160)]
HELD_OUT_HUES = (160 / 360, 200 / 360)
# The share of training photos that show the tray with no phone (render_empty).
EMPTY_FRACTION = 0.04


def _body_colour(rng) -> np.ndarray:
    """A common finish with some spread, or any colour outside the held-out teal band."""
    if rng.random() < 0.55:
        base = np.array(COMMON_COLOURS[rng.integers(len(COMMON_COLOURS))], np.float32)
        return np.clip(base + rng.normal(0, 8, 3), 0, 255)
    while True:
        hue, saturation, value = rng.random(), rng.uniform(0, 0.8), rng.uniform(0.08, 0.97)
        if not (HELD_OUT_HUES[0] <= hue <= HELD_OUT_HUES[1] and saturation > 0.3):
            return np.array(colorsys.hsv_to_rgb(hue, saturation, value), np.float32) * 255


def _smooth_noise(rng, height, width, cell, channels=1):
    """Noise with features about `cell` pixels wide: coarse Gaussian noise, upsampled bilinearly."""
    from PIL import Image

    coarse = rng.normal(0, 1, (channels, height // cell + 2, width // cell + 2)).astype(np.float32)
    size = ((width // cell + 2) * cell, (height // cell + 2) * cell)
    planes = [np.asarray(Image.fromarray(plane, mode="F").resize(size, Image.BILINEAR)) for plane in coarse]
    return np.stack(planes, -1)[:height, :width]


def _tray(rng, height, width, phone_colour):
    """The backdrop, float32 H x W x 3."""
    kind = rng.choice(["flat", "flat", "gradient", "fabric", "paper", "markings", "near_phone",
                       "streaks", "leaves", "mottled", "periodic"])
    if kind == "near_phone":
        base = np.clip(phone_colour + rng.normal(0, 14, 3), 0, 255)
    elif rng.random() < 0.5:
        base = np.full(3, rng.choice([rng.uniform(5, 45), rng.uniform(200, 250), rng.uniform(45, 200)]))
        base = np.clip(base + rng.normal(0, 6, 3), 0, 255)
    else:
        base = rng.uniform(0, 255, 3)
    image = np.broadcast_to(base.astype(np.float32), (height, width, 3)).copy()
    oy, ox = np.mgrid[0:height, 0:width].astype(np.float32)
    unused_labels, everywhere = np.zeros((height, width), np.uint8), np.ones((height, width), bool)
    if kind == "gradient":
        other = np.clip(base + rng.normal(0, 60, 3), 0, 255).astype(np.float32)
        angle = rng.uniform(0, 2 * np.pi)
        t = (np.cos(angle) * ox / width + np.sin(angle) * oy / height)
        t = (t - t.min()) / max(np.ptp(t), 1e-6)
        image = image * (1 - t[..., None]) + other * t[..., None]
    elif kind == "fabric":
        period = rng.uniform(3, 9)
        weave = np.sin(ox * 2 * np.pi / period) * np.sin(oy * 2 * np.pi / period)
        image += (rng.uniform(4, 14) * weave)[..., None]
        image += _smooth_noise(rng, height, width, int(rng.integers(2, 5))) * rng.uniform(4, 10)
    elif kind == "paper":
        image += rng.normal(0, rng.uniform(2, 6), (height, width, 1)).astype(np.float32)
        for _ in range(int(rng.integers(20, 80))):
            p0 = rng.uniform(0, 1, 2) * (width, height)
            p1 = p0 + rng.normal(0, 25, 2)
            synth._stamp_segment(image, unused_labels, everywhere, p0, p1, 1.2,
                                 np.clip(base - 18, 0, 255), 0.4, 0)
    elif kind == "markings":
        ink = np.clip(base + rng.choice([-1, 1]) * rng.uniform(50, 120), 0, 255)
        for _ in range(int(rng.integers(2, 9))):
            p0 = rng.uniform(0, 1, 2) * (width, height)
            if rng.random() < 0.5:  # a grid or outline line across the tray
                p1 = (p0[0], rng.uniform(0, height)) if rng.random() < 0.5 else (rng.uniform(0, width), p0[1])
            else:
                p1 = p0 + rng.normal(0, 120, 2)
            synth._stamp_segment(image, unused_labels, everywhere, p0, p1, rng.uniform(2, 7), ink, 0.9, 0)
    elif kind in TEXTURES:
        image += TEXTURES[kind](rng, height, width, oy, ox)[..., None] * rng.uniform(6, 45) * _tint(rng)
    # Stains and uneven dye, faint on every tray.
    image += _smooth_noise(rng, height, width, int(rng.integers(16, 64)), 3) * rng.uniform(0, 7)
    return image


def _tint(rng) -> np.ndarray:
    """How a texture's contrast splits over R, G and B: grey mostly, sometimes coloured."""
    if rng.random() < 0.6:
        return np.ones(3, np.float32)
    return rng.uniform(0.3, 1.3, 3).astype(np.float32)


def _streaks(rng, height, width, oy, ox):
    """Anisotropic noise: features stretched along a random direction by 3 to 40 times, in
    one to three octaves, sometimes bent by a smooth displacement. Zero mean, unit spread."""
    angle = rng.uniform(0, np.pi)
    u = np.cos(angle) * ox + np.sin(angle) * oy
    v = -np.sin(angle) * ox + np.cos(angle) * oy
    if rng.random() < 0.4:
        u = u + _smooth_noise(rng, height, width, int(rng.integers(40, 160)))[..., 0] * rng.uniform(3, 25)
    u, v = u - u.min(), v - v.min()
    out = np.zeros((height, width), np.float32)
    for octave in range(int(rng.integers(1, 4))):
        across = rng.uniform(1, 6) * 2 ** octave
        along = across * rng.uniform(3, 40)
        grid = rng.normal(0, 1, (int(u.max() / across) + 2, int(v.max() / along) + 2)).astype(np.float32)
        out += ndimage.map_coordinates(grid, [u / across, v / along], order=1) * rng.uniform(0.3, 1)
    return out / max(float(out.std()), 1e-6)


def _leaves(rng, height, width, oy, ox):
    """Overlapping discs, ellipses and boxes of random sizes and shades (a dead-leaves model):
    grains, flecks and blotches. Zero mean, unit spread."""
    out = np.zeros((height, width), np.float32)
    scale = height / 1440
    small, large = rng.uniform(1.5, 6) * scale, rng.uniform(10, 90) * scale
    for _ in range(int(rng.integers(300, 2500))):
        r = small * (large / small) ** rng.random() ** 2  # mostly small, now and then large
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        y0, y1 = int(max(cy - r, 0)), int(min(cy + r + 1, height))
        x0, x1 = int(max(cx - r, 0)), int(min(cx + r + 1, width))
        if y0 >= y1 or x0 >= x1:
            continue
        dy, dx = oy[y0:y1, x0:x1] - cy, ox[y0:y1, x0:x1] - cx
        shape = rng.integers(3)
        if shape == 0:
            inside = dy * dy + dx * dx <= r * r
        elif shape == 1:
            a, squash = rng.uniform(0, np.pi), rng.uniform(0.2, 0.8)
            p, q = np.cos(a) * dx + np.sin(a) * dy, (-np.sin(a) * dx + np.cos(a) * dy) / squash
            inside = p * p + q * q <= r * r
        else:
            inside = np.ones(dy.shape, bool)
        out[y0:y1, x0:x1][inside] = rng.normal()
    return out / max(float(out.std()), 1e-6)


def _mottled(rng, height, width, oy, ox):
    """Noise summed over octaves from 2 to 64 pixels with a random spectral slope, sometimes
    cut into two tones: speckle, granite, mottle. Zero mean, unit spread."""
    out = np.zeros((height, width), np.float32)
    slope = rng.uniform(-0.5, 1.2)
    for cell in (2, 4, 8, 16, 32, 64):
        out += _smooth_noise(rng, height, width, cell)[..., 0] * cell ** slope
    if rng.random() < 0.4:
        out = (out > np.quantile(out, rng.uniform(0.2, 0.8))).astype(np.float32)
    out -= out.mean()
    return out / max(float(out.std()), 1e-6)


def _periodic(rng, height, width, oy, ox):
    """A regular pattern at a random angle and period: stripes, a checkerboard, a crosshatch
    or a diamond grid, hard or soft. Zero mean, unit spread."""
    angle, period = rng.uniform(0, np.pi), rng.uniform(4, 40) * height / 1440
    u = (np.cos(angle) * ox + np.sin(angle) * oy) / period
    v = (-np.sin(angle) * ox + np.cos(angle) * oy) / (period * rng.uniform(0.5, 2))
    line = rng.uniform(0.1, 0.4)
    pattern = rng.choice(["stripes", "checker", "hatch", "diamond"])
    if pattern == "stripes":
        out = (u % 1 < line).astype(np.float32)
    elif pattern == "checker":
        out = ((np.floor(u) + np.floor(v)) % 2).astype(np.float32)
    elif pattern == "hatch":
        out = ((u % 1 < line) | (v % 1 < line)).astype(np.float32)
    else:
        out = ((np.abs((u + v) % 1 - 0.5) < line / 2) | (np.abs((u - v) % 1 - 0.5) < line / 2)).astype(np.float32)
    if rng.random() < 0.5:
        out = ndimage.gaussian_filter(out, period * rng.uniform(0.05, 0.2))
    out -= out.mean()
    return out / max(float(out.std()), 1e-6)


TEXTURES = {"streaks": _streaks, "leaves": _leaves, "mottled": _mottled, "periodic": _periodic}


def _phone(rng, spec, ph, pw, scale):
    """The phone flat in its own pixels: (canvas H x W x 3 float32, labels, glass mask)."""
    radius = pw * rng.uniform(0.04, 0.16)
    body = synth._rounded_rect(ph, pw, 0, 0, ph, pw, radius)
    colour = _body_colour(rng)
    yy, xx = np.mgrid[0:ph, 0:pw].astype(np.float32)
    sheen = 1 + rng.uniform(0, 0.12) * np.sin((xx / pw + yy / ph) * rng.uniform(1, 5) + rng.uniform(0, 6))
    canvas = colour * sheen[..., None]
    labels = np.where(body, BODY, BACKGROUND).astype(np.uint8)
    inner = body
    if rng.random() < 0.25:  # a case: a rim of another colour around the phone
        rim = pw * rng.uniform(0.02, 0.05)
        inner = synth._rounded_rect(ph, pw, rim, rim, ph - rim, pw - rim, max(radius - rim, 2))
        canvas[body & ~inner] = _body_colour(rng)
    glass = np.zeros_like(body)
    if spec.side == "front":
        margin_x, margin_y = pw * rng.uniform(0.01, 0.07), ph * rng.uniform(0.015, 0.06)
        screen = synth._rounded_rect(ph, pw, margin_y, margin_x, ph - margin_y, pw - margin_x,
                                     radius * rng.uniform(0.6, 1.0)) & inner
        if rng.random() < 0.2:  # a lit screen: a colourful wallpaper
            a, b = rng.uniform(20, 200, 3), rng.uniform(20, 200, 3)
            t = np.clip(yy / ph + rng.normal(0, 0.2), 0, 1)[..., None]
            face = a * (1 - t) + b * t + _smooth_noise(rng, ph, pw, 48, 3) * 6
        else:  # dark glass with a soft reflection
            level = rng.uniform(4, 45)
            glow = level + 30 * np.clip((xx / pw - yy / ph) + rng.uniform(-0.4, 0.4), 0, 1)
            tint = rng.uniform(0.8, 1.25, 3) if rng.random() < 0.35 else np.array([1, 1, rng.uniform(0.95, 1.12)])
            face = glow[..., None] * tint.astype(np.float32)
        canvas[screen] = face[screen]
        labels[screen] = SCREEN
        glass = screen
        cut = rng.random()
        if cut < 0.3:  # a notch: part of the bezel that dips into the screen
            nw, nh = pw * rng.uniform(0.2, 0.4), ph * rng.uniform(0.015, 0.03)
            notch = synth._rounded_rect(ph, pw, margin_y - 2, (pw - nw) / 2, margin_y + nh, (pw + nw) / 2, nh / 2)
            canvas[notch & screen], labels[notch & screen] = canvas[~screen & body].mean(0), BODY
        elif cut < 0.6:  # a punch-hole camera
            r = pw * rng.uniform(0.02, 0.035)
            cx = pw * rng.choice([0.5, 0.15, 0.85])
            hole = (xx - cx) ** 2 + (yy - margin_y - 3 * r) ** 2 <= r ** 2
            canvas[hole], labels[hole] = (8, 8, 10), BODY
        damage_area = screen & (labels == SCREEN)
    else:
        glass = inner & (rng.random() < 0.6)
        if rng.random() < 0.5:
            _glossy_back(rng, canvas, inner, radius, ph, pw, xx, yy, scale)
        bump = _camera_bump(rng, canvas, ph, pw, xx, yy, scale)
        damage_area = inner & ~bump
        _back_marks(rng, canvas, inner & ~bump, ph, pw, scale)
    _rim(rng, canvas, body, xx / pw + yy / ph, scale)
    if spec.side == "front" and rng.random() < 0.4:
        _rim(rng, canvas, glass, xx / pw - yy / ph, scale)
    return canvas, labels, body, glass, damage_area


def _glossy_back(rng, canvas, inner, radius, ph, pw, xx, yy, scale):
    """A glass back: the body's colour under a broad reflection like a screen's, often inside a
    frame line inset from the edge. It is body, not screen: the golden set's dark glass backs
    were read as screens by run 3, since here only fronts had glossy panels with an inner edge."""
    panel = inner
    if rng.random() < 0.6:
        inset = pw * rng.uniform(0.01, 0.04)
        panel = synth._rounded_rect(ph, pw, inset, inset, ph - inset, pw - inset, max(radius - inset, 2)) & inner
        _rim(rng, canvas, panel, xx / pw - yy / ph, scale, always=True)
    if rng.random() < 0.5:  # darker glass over the colour
        canvas[panel] *= rng.uniform(0.3, 0.8)
    ramp = np.clip((xx / pw - yy / ph) * rng.choice([-1, 1]) + rng.uniform(-0.4, 0.4), 0, 1)
    canvas[panel] += (rng.uniform(15, 60) * ramp)[panel][:, None]
    np.clip(canvas, 0, 255, out=canvas)


def _camera_bump(rng, canvas, ph, pw, xx, yy, scale):
    """Draws a camera bump with one to three lenses and, mostly, a flash; returns where the
    bump is. Lens rings in any grey, lenses packed close with a glint in the glass, and the
    flash (a bright warm-white disc inside the bump or beside it) are not damage: run 3 called
    flashes chips and the gaps between ringed lenses cracks."""
    layout = rng.choice(["pair", "square", "bar", "single"])
    left, top = pw * rng.uniform(0.05, 0.1), pw * rng.uniform(0.05, 0.1)
    if layout == "bar":
        w, h = pw - 2 * left, pw * rng.uniform(0.2, 0.28)
    else:
        w = pw * (rng.uniform(0.3, 0.45) if layout != "single" else rng.uniform(0.18, 0.25))
        h = w * (1.7 if layout == "pair" else 1.0)
    if layout == "single" and rng.random() < 0.5:
        left = (pw - w) / 2
    bump = synth._rounded_rect(ph, pw, top, left, top + h, left + w, min(w, h) * 0.25)
    canvas[bump] = np.clip(canvas[bump] * rng.uniform(0.6, 1.2), 0, 255)
    if rng.random() < 0.7:  # the bump's edge catches the light, or shows as a dark seam
        _rim(rng, canvas, bump, xx / pw - yy / ph, scale, always=True)
    ringed = rng.random() < 0.7
    ring_level, ring_width = rng.uniform(50, 235), rng.uniform(1.08, 1.35)
    lenses = {"pair": 2, "square": 3, "bar": 3, "single": 1}[layout]
    r = min(w, h) * (rng.uniform(0.17, 0.26) if lenses > 1 else 0.32)
    flash = rng.random() < 0.8
    packed = layout == "bar" and flash and rng.random() < 0.6  # lenses side by side, flash at the end
    for k in range(lenses):
        if packed:
            cx, cy = left + h / 2 + k * r * 2 * ring_width * rng.uniform(1.0, 1.1), top + h / 2
        elif layout == "bar":
            cx, cy = left + w * (k + 1) / (lenses + 1), top + h / 2
        elif layout == "pair":
            cx, cy = left + w / 2, top + h * (0.27 + 0.46 * k)
        else:
            cx, cy = left + w * (0.3 + 0.4 * (k % 2)), top + h * (0.3 + 0.4 * (k // 2))
        distance = np.hypot(xx - cx, yy - cy)
        if ringed:  # a ring round the lens
            canvas[(distance <= r * ring_width) & (distance > r)] = ring_level
        canvas[distance <= r] = rng.uniform(5, 30)
        if rng.random() < 0.5:  # a glint in the glass
            glint = np.hypot(xx - cx + 0.35 * r, yy - cy + 0.35 * r) <= r * rng.uniform(0.1, 0.2)
            canvas[glint] = rng.uniform(90, 200)
    if flash:
        fr = r * rng.uniform(0.35, 0.6)
        if layout == "square":
            fx, fy = left + w * 0.7, top + h * 0.7
        elif layout == "bar":
            fx, fy = left + w - h / 2, top + h / 2
        else:  # beside the bump
            fx, fy = min(left + w + fr * 2.2, pw - 2 * fr), top + fr * rng.uniform(1.5, 3)
        level = rng.uniform(215, 255)
        warm = np.array([level, level * rng.uniform(0.93, 1.0), level * rng.uniform(0.75, 1.0)], np.float32)
        distance = np.hypot(xx - fx, yy - fy)
        if rng.random() < 0.4:
            canvas[(distance <= fr * 1.25) & (distance > fr)] = rng.uniform(60, 200)
        canvas[distance <= fr] = warm
    return bump


def _rim(rng, canvas, mask, facing, scale, always=False):
    """A thin line just inside `mask`'s edge: a bevel lit from one side (bright) or a seam
    (dark), all round or only where `facing` (a ramp across the part) is high. Not damage."""
    if not always and rng.random() < 0.4:
        return
    width = max(1, int(round(rng.uniform(1.0, 3.0) * scale * 1.5)))
    ring = mask & ~ndimage.binary_erosion(mask, iterations=width)
    if rng.random() < 0.6:
        ring &= facing > np.quantile(facing[mask], rng.uniform(0.2, 0.7))
    level = rng.uniform(170, 250) if rng.random() < 0.7 else rng.uniform(0, 40)
    alpha = rng.uniform(0.4, 0.9)
    canvas[ring] = canvas[ring] * (1 - alpha) + level * alpha


def _back_marks(rng, canvas, area, ph, pw, scale):
    """Marks a phone's back carries that are not damage: antenna seams across the top and
    bottom, a logo in the middle, and a line or two of regulatory print."""
    unused = np.zeros(area.shape, np.uint8)
    base = canvas[area].mean(0)
    def ink(contrast):
        return np.clip(base + rng.choice([-1, 1]) * contrast, 0, 255)
    if rng.random() < 0.4:
        colour, thickness = ink(rng.uniform(25, 70)), rng.uniform(2, 4) * scale
        for y in rng.choice([0.08, 0.12, 0.88, 0.92], int(rng.integers(1, 5)), replace=False):
            synth._stamp_segment(canvas, unused, area, (0, y * ph), (pw, y * ph), thickness, colour, 0.8, 0)
    if rng.random() < 0.5:
        cx, cy, r = pw / 2, ph * rng.uniform(0.4, 0.55), pw * rng.uniform(0.06, 0.12)
        colour, thickness = ink(rng.uniform(20, 80)), rng.uniform(2, 5) * scale
        points = [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 13)]
        for p0, p1 in zip(points, points[1:]):
            synth._stamp_segment(canvas, unused, area, p0, p1, thickness, colour, 0.85, 0)
    if rng.random() < 0.35:
        colour, y = ink(rng.uniform(30, 90)), ph * rng.uniform(0.8, 0.9)
        for row in range(int(rng.integers(1, 3))):
            x = pw * rng.uniform(0.2, 0.35)
            while x < pw * rng.uniform(0.6, 0.8):
                step = rng.uniform(4, 12) * scale
                synth._stamp_segment(canvas, unused, area, (x, y + row * 14 * scale), (x + step, y + row * 14 * scale),
                                     rng.uniform(1.5, 3) * scale, colour, 0.8, 0)
                x += step + rng.uniform(3, 8) * scale


def _glass_lookalikes(rng, canvas, glass, scale):
    """Sharp reflections of the kiosk's lamp edge and specks of dust on the glass. Not damage."""
    unused = np.zeros(glass.shape, np.uint8)
    if rng.random() < 0.3:
        p0 = synth.random_point(rng, glass)
        angle = rng.uniform(0, np.pi)
        p1 = p0 + rng.uniform(150, 600) * scale * np.array([np.cos(angle), np.sin(angle)])
        synth._stamp_segment(canvas, unused, glass, p0, p1, rng.uniform(6, 16) * scale,
                             (rng.uniform(180, 250),) * 3, rng.uniform(0.25, 0.5), 0)
    if rng.random() < 0.3:
        for _ in range(int(rng.integers(5, 30))):
            p = synth.random_point(rng, glass)
            synth._stamp_segment(canvas, unused, glass, p, p + rng.normal(0, 1.5, 2), rng.uniform(1.5, 4) * scale,
                                 (rng.uniform(150, 240),) * 3, 0.7, 0)


# Cracks and scratches are drawn from the same widths and the same lift over the surface, so
# that neither contrast nor width tells them apart: shape does. A crack is jagged (its heading
# kinks at every short step) and it forks; a scratch is smooth (its heading turns, if at all,
# a little and steadily) and it never forks. Run 8 learned "bright means crack" and called
# most held-out scratches, drawn wider and brighter than its training scratches, cracks.
# A stroke's colour is the surface under it before any stroke was drawn, lifted: taken from the
# canvas as drawn, each step would lift the last step's paint again and every stroke would end
# near white whatever its lift.
STROKE_WIDTH = (2.0, 4.2)   # px at 1440 rows
STROKE_LIFT = (55, 170)     # brighter than the surface under the stroke, in 8-bit steps
STROKE_ALPHA = 0.8


def _stroke_width(rng, scale):
    return rng.uniform(*STROKE_WIDTH) * scale


def _jagged_path(rng, canvas, surface, labels, allowed, point, angle, length, width, lift, scale, fork_chance):
    """One crack branch from `point`: short steps, each kinking the heading; now and then a fork."""
    branches = [(point, angle, length)]
    while branches:
        point, angle, remaining = branches.pop()
        while remaining > 0:
            step = rng.uniform(5, 13) * scale
            angle += rng.normal(0, 0.4)
            nxt = point + step * np.array([np.cos(angle), np.sin(angle)], np.float32)
            synth._stamp_segment(canvas, labels, allowed, point, nxt, width,
                                 synth.lifted_colour(surface, point, lift), STROKE_ALPHA, CRACK)
            point, remaining = nxt, remaining - step
            if rng.random() < fork_chance and remaining > 30 * scale:
                branches.append((point.copy(), angle + rng.choice([-1, 1]) * rng.uniform(0.4, 1.1),
                                 remaining * rng.uniform(0.3, 0.7)))


def _radial_crack(rng, canvas, labels, allowed, scale):
    """A spider-web: jagged branches that fork, radiating from an impact point away from the
    area's border."""
    ys, xs = np.nonzero(allowed)
    inner = (np.abs(ys - ys.mean()) < 0.35 * np.ptp(ys)) & (np.abs(xs - xs.mean()) < 0.3 * np.ptp(xs))
    if inner.any():
        pick = rng.integers(int(inner.sum()))
        impact = np.array([xs[inner][pick], ys[inner][pick]], np.float32)
    else:
        impact = synth.random_point(rng, allowed)
    surface, lift, count = canvas.copy(), rng.uniform(*STROKE_LIFT), int(rng.integers(3, 8))
    for k in range(count):
        angle = k * 2 * np.pi / count + rng.uniform(-0.4, 0.4)
        _jagged_path(rng, canvas, surface, labels, allowed, impact.copy(), angle, rng.uniform(120, 420) * scale,
                     _stroke_width(rng, scale), lift, scale, 0.06)


def _single_crack(rng, canvas, labels, allowed, scale):
    """One long jagged crack across the area, forking on its way."""
    _jagged_path(rng, canvas, canvas.copy(), labels, allowed, synth.random_point(rng, allowed),
                 rng.uniform(0, 2 * np.pi), rng.uniform(250, 700) * scale, _stroke_width(rng, scale),
                 rng.uniform(*STROKE_LIFT), scale, 0.05)


def _shattered_corner(rng, canvas, labels, allowed, scale):
    """Dense short jagged cracks fanning out from near one corner of the area."""
    ys, xs = np.nonzero(allowed)
    corner = rng.integers(4)
    cx = xs.min() if corner % 2 == 0 else xs.max()
    cy = ys.min() if corner < 2 else ys.max()
    impact = np.array([cx, cy], np.float32) + rng.uniform(15, 50, 2) * scale * (
        (1 if corner % 2 == 0 else -1), (1 if corner < 2 else -1))
    surface, lift = canvas.copy(), rng.uniform(*STROKE_LIFT)
    for _ in range(int(rng.integers(8, 16))):
        _jagged_path(rng, canvas, surface, labels, allowed, impact.copy(), rng.uniform(0, 2 * np.pi),
                     rng.uniform(25, 140) * scale, _stroke_width(rng, scale), lift, scale, 0.0)


def _smooth_path(rng, canvas, surface, labels, allowed, point, angle, length, width, lift, bend, scale):
    """One scratch: even steps whose heading turns by `bend` radians over the whole length,
    evenly, with a little drift."""
    pieces = max(2, int(length / (8 * scale)))
    step, turn = length / pieces, bend / pieces
    for _ in range(pieces):
        angle += turn + rng.normal(0, 0.004)
        nxt = point + step * np.array([np.cos(angle), np.sin(angle)], np.float32)
        synth._stamp_segment(canvas, labels, allowed, point, nxt, width,
                             synth.lifted_colour(surface, point, lift), STROKE_ALPHA, SCRATCH)
        point = nxt


def _straight_scratch(rng, canvas, labels, allowed, scale):
    """A long scratch, straight or bending very gently."""
    _smooth_path(rng, canvas, canvas.copy(), labels, allowed, synth.random_point(rng, allowed),
                 rng.uniform(0, 2 * np.pi), rng.uniform(80, 600) * scale, _stroke_width(rng, scale),
                 rng.uniform(*STROKE_LIFT), rng.normal(0, 0.15), scale)


def _scratch_cluster(rng, canvas, labels, allowed, scale):
    """Several near-parallel scratches side by side, as from keys in a pocket."""
    origin = synth.random_point(rng, allowed)
    angle = rng.uniform(0, np.pi)
    normal = np.array([-np.sin(angle), np.cos(angle)], np.float32)
    surface, lift, offset = canvas.copy(), rng.uniform(*STROKE_LIFT), 0.0
    for _ in range(int(rng.integers(3, 7))):
        _smooth_path(rng, canvas, surface, labels, allowed, origin + normal * offset, angle + rng.normal(0, 0.03),
                     rng.uniform(60, 260) * scale, _stroke_width(rng, scale), lift, rng.normal(0, 0.08), scale)
        offset += rng.uniform(6, 16) * scale


def _curved_scratch(rng, canvas, labels, allowed, scale):
    """A scratch along an arc, bending by 0.4 to 2.5 radians over its length."""
    _smooth_path(rng, canvas, canvas.copy(), labels, allowed, synth.random_point(rng, allowed),
                 rng.uniform(0, 2 * np.pi), rng.uniform(100, 450) * scale, _stroke_width(rng, scale),
                 rng.uniform(*STROKE_LIFT), rng.choice([-1, 1]) * rng.uniform(0.4, 2.5), scale)


def _bite(rng, canvas, labels, body, centre, radius, bare):
    """Bites an irregular blob out of the body at `centre` and paints it bare material."""
    h, w = body.shape
    r = int(radius * 1.5) + 2
    y0, y1 = max(0, int(centre[1]) - r), min(h, int(centre[1]) + r)
    x0, x1 = max(0, int(centre[0]) - r), min(w, int(centre[0]) + r)
    y, x = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    angle = np.arctan2(y - centre[1], x - centre[0])
    wobble = 1 + 0.25 * np.sin(3 * angle + rng.uniform(0, 6)) + 0.15 * np.sin(5 * angle + rng.uniform(0, 6))
    blob = (np.hypot(x - centre[0], y - centre[1]) <= radius * wobble) & body[y0:y1, x0:x1]
    region = canvas[y0:y1, x0:x1]
    region[blob] = bare + rng.normal(0, 8, (int(blob.sum()), 3))
    labels[y0:y1, x0:x1][blob] = CHIP


def _chip(rng, canvas, labels, body, scale):
    """An edge notch, a corner break, or a strip of exposed frame metal."""
    h, w = body.shape
    light_body = canvas[body].mean() > 128
    bare = np.array((95, 92, 90) if light_body else (215, 215, 220), np.float32)
    if rng.random() < 0.3:  # bare metal: silver or gold, whatever the finish
        bare = np.array(rng.choice([(200, 202, 206), (190, 160, 110), (120, 122, 126)]), np.float32)
    style = rng.choice(["notch", "corner", "strip"])
    if style == "corner":
        cx, cy = rng.choice([0, w - 1]), rng.choice([0, h - 1])
        _bite(rng, canvas, labels, body, (cx, cy), rng.uniform(30, 55) * scale, bare)
        return
    edge = body & ~(np.roll(body, 3, 0) & np.roll(body, -3, 0) & np.roll(body, 3, 1) & np.roll(body, -3, 1))
    ys, xs = np.nonzero(edge)
    pick = rng.integers(len(ys))
    if style == "notch":
        _bite(rng, canvas, labels, body, (xs[pick], ys[pick]), rng.uniform(12, 26) * scale, bare)
    else:
        for k in range(int(rng.integers(3, 6))):  # a run of small bites along the edge
            j = (pick + k * int(8 * scale)) % len(ys)
            _bite(rng, canvas, labels, body, (xs[j], ys[j]), rng.uniform(8, 13) * scale, bare)


CRACKS = [_radial_crack, _single_crack, _shattered_corner]
SCRATCHES = [_straight_scratch, _scratch_cluster, _curved_scratch]


def _specular(rng, canvas, glass):
    """A soft bright band across the glass, as a kiosk lamp reflects."""
    h, w = glass.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    d = np.cos(angle) * (xx - rng.uniform(0, w)) + np.sin(angle) * (yy - rng.uniform(0, h))
    band = np.exp(-(d / (w * rng.uniform(0.04, 0.15))) ** 2) * rng.uniform(25, 90)
    canvas[glass] += band[glass][:, None]


def render(rng: np.random.Generator, spec: synth.Spec, height: int = 1440, width: int = 720):
    """Renders one randomized photo: returns (rgb uint8 H x W x 3, labels uint8 H x W)."""
    scale = height / 1440
    aspect = rng.uniform(1.9, 2.3)
    fraction = min(rng.uniform(0.45, 0.9), 0.88 * width * aspect / height)
    ph = int(height * fraction)
    pw = int(ph / aspect)
    canvas, labels, body, glass, damage_area = _phone(rng, spec, ph, pw, scale)
    if glass.any():
        _glass_lookalikes(rng, canvas, glass, scale)
    for _ in range(spec.cracks):
        CRACKS[rng.integers(len(CRACKS))](rng, canvas, labels, damage_area & (labels != CHIP), scale)
    for _ in range(spec.scratches):
        SCRATCHES[rng.integers(len(SCRATCHES))](rng, canvas, labels, damage_area & (labels != CHIP), scale)
    for _ in range(spec.chips):
        _chip(rng, canvas, labels, body, scale)
    if glass.any() and rng.random() < 0.4:
        _specular(rng, canvas, glass & (labels != CHIP))

    # Place it: a small rotation and perspective; now and then a slight crop at the border.
    angle = np.deg2rad(rng.uniform(-6, 6))
    slack_x, slack_y = max(0.0, (width - pw * 1.1) / 2), max(0.0, (height - ph * 1.05) / 2)
    cx = width / 2 + rng.uniform(-1, 1) * slack_x * 0.8
    cy = height / 2 + rng.uniform(-1, 1) * slack_y * 0.8
    if rng.random() < 0.08:
        cy += rng.choice([-1, 1]) * (slack_y + ph * rng.uniform(0.0, 0.03))
    corners = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float64) - [pw / 2, ph / 2]
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    placed = corners @ rot.T + [cx, cy] + rng.uniform(-0.012, 0.012, (4, 2)) * [width, height]
    ui, vi, inside, ox, oy = synth.warp(pw, ph, corners + [pw / 2, ph / 2], placed, height, width)
    out_labels = np.where(inside, labels[vi, ui], BACKGROUND).astype(np.uint8)
    phone = out_labels != BACKGROUND

    # Tray, shadow, phone; then light, lens and sensor.
    image = _tray(rng, height, width, canvas[body].mean(0))
    shift = rng.uniform(-14, 14, 2) * scale
    shadow = ndimage.shift(phone.astype(np.float32), shift, order=0)
    shadow = ndimage.gaussian_filter(shadow, rng.uniform(2, 12) * scale)
    image *= (1 - rng.uniform(0.1, 0.45) * shadow)[..., None]
    image[phone] = canvas[vi, ui][phone]
    return _camera(rng, image, ox, oy, scale), out_labels


def render_empty(rng: np.random.Generator, height: int = 1440, width: int = 720):
    """The tray with no phone on it, through the same light, lens and sensor: every pixel is
    background. Every other training photo has a phone, and a model that never saw an empty
    tray finds a phone in one (run 6 called a third of a textured empty tray body)."""
    oy, ox = np.mgrid[0:height, 0:width].astype(np.float32)
    image = _tray(rng, height, width, _body_colour(rng))
    return _camera(rng, image, ox, oy, height / 1440), np.zeros((height, width), np.uint8)


def _camera(rng, image, ox, oy, scale):
    """Light (a ramp, vignetting, exposure and colour balance), lens blur, motion blur, sensor
    noise and JPEG, over the float photo: returns uint8 H x W x 3."""
    height, width = image.shape[:2]
    light = 1 + rng.uniform(-0.25, 0.25) * (ox / width - 0.5) + rng.uniform(-0.25, 0.25) * (oy / height - 0.5)
    vignette = rng.uniform(0, 0.35) * (((ox / width - 0.5) ** 2 + (oy / height - 0.5) ** 2) / 0.5)
    light = (light - vignette) * rng.uniform(0.75, 1.2)
    balance = np.array([rng.uniform(0.92, 1.08), rng.uniform(0.97, 1.03), rng.uniform(0.92, 1.08)], np.float32)
    image = image * light[..., None].astype(np.float32) * balance
    if rng.random() < 0.6:
        image = ndimage.gaussian_filter(image, (rng.uniform(0.3, 1.6) * scale,) * 2 + (0,))
    if rng.random() < 0.15:
        length = int(rng.integers(2, 6))
        image = ndimage.uniform_filter1d(image, length, axis=int(rng.integers(2)))
    image = image + rng.normal(0, rng.uniform(1, 6), image.shape)
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        image = _jpeg(image, int(rng.integers(60, 96)))
    return image


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """The photo after a JPEG round trip at `quality`, as a kiosk camera would send it."""
    from PIL import Image  # Debian's python3-pil, the same libjpeg-turbo the worker links

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def random_spec(rng: np.random.Generator) -> synth.Spec:
    """Like synth.random_spec, with more damage of each kind and at least 30% clean phones."""
    side = "front" if rng.random() < 0.5 else "back"
    spec = synth.Spec(side=side)
    if rng.random() < 0.32:
        return spec
    spec.cracks = int(rng.integers(1, 3)) if rng.random() < 0.5 else 0
    spec.scratches = int(rng.integers(1, 4)) if rng.random() < 0.6 else 0
    spec.chips = int(rng.integers(1, 3)) if rng.random() < 0.4 else 0
    return spec
