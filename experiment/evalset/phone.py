"""The phone: its shape and colours, each side's surfaces, and the damages drawn on them.

A side is drawn in the phone's own frame (u, v; see geom.Placement) over the photo's pixel grid,
so the phone can tilt freely and every edge stays anti-aliased. Each side returns its colour
layer, its coverage (alpha) and its label map; damages change all three.
"""

import colorsys

import numpy as np

import geom
from grading import BACKGROUND, BODY, SCREEN, CRACK, SCRATCH, CHIP

# Ordinary colours (name: RGB in [0, 1]); none has a hue from 160 to 200 degrees with saturation
# over 0.3, which is the held-out band.
ORDINARY_COLOURS = {
    "black": (0.06, 0.06, 0.07), "white": (0.86, 0.86, 0.84), "silver": (0.72, 0.73, 0.75),
    "gold": (0.80, 0.67, 0.47), "blue": (0.16, 0.27, 0.56), "red": (0.63, 0.10, 0.13),
}
HELD_OUT_COLOURS = ["teal", "cyan"]
CASE_COLOURS = {"black-case": (0.07, 0.07, 0.08), "clear-case": None, "navy-case": (0.12, 0.15, 0.30),
                "olive-case": (0.33, 0.35, 0.20)}

ORDINARY_STROKES = ["crack-radial", "scratch-arc", "scratch-straight", "chip-bite"]
HELD_OUT_STROKES = ["crack-web", "scratch-sine"]


def hue_saturation(rgb):
    h, s, _ = colorsys.rgb_to_hsv(*rgb)
    return h * 360.0, s


def pick_colour(rng, name):
    """The body colour of a named colour, with a little jitter."""
    if name == "teal":
        h, s, v = rng.uniform(162, 180), rng.uniform(0.4, 0.75), rng.uniform(0.42, 0.72)
        rgb = colorsys.hsv_to_rgb(h / 360, s, v)
    elif name == "cyan":
        h, s, v = rng.uniform(181, 198), rng.uniform(0.4, 0.75), rng.uniform(0.5, 0.8)
        rgb = colorsys.hsv_to_rgb(h / 360, s, v)
    else:
        # One brightness change and one offset for all channels, so the hue stays the colour's own.
        rgb = np.clip(np.array(ORDINARY_COLOURS[name]) * rng.uniform(0.93, 1.07) + rng.uniform(-0.015, 0.015, 3).mean(), 0, 1)
        hue, sat = hue_saturation(rgb)
        assert not (160 <= hue <= 200 and sat > 0.3), (name, rgb)
    return tuple(float(c) for c in rgb)


class Spec:
    """One phone model and its finish, fixed for both sides."""

    def __init__(self, rng, colour_name, width, height, case=None):
        self.colour_name = colour_name
        self.colour = np.array(pick_colour(rng, colour_name))
        self.width, self.height = width, height
        self.radius = width * rng.uniform(0.08, 0.15)
        self.case = case
        self.case_colour = None
        if case is not None:
            c = CASE_COLOURS[case]
            self.case_colour = None if c is None else np.array(c) * rng.uniform(0.9, 1.1)
        lip = 0.035 if case and self.case_colour is not None else 0.0
        self.rim = width * (rng.uniform(0.012, 0.022) + lip)
        self.bezel_side = width * rng.uniform(0.025, 0.05)
        self.bezel_top = width * rng.uniform(0.035, 0.09)
        self.bezel_bottom = width * rng.uniform(0.03, 0.08)
        self.bezel_colour = np.full(3, rng.uniform(0.025, 0.06))
        self.screen_on = rng.random() < 0.3
        self.wallpaper = [np.array(colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.3, 0.8), rng.uniform(0.25, 0.55)))
                          for _ in range(2)]
        self.wall_angle = rng.uniform(0, 2 * np.pi)
        self.gloss_angle = rng.uniform(-0.9, 0.9)
        self.gloss_strength = rng.uniform(0.03, 0.10)
        self.bump_style = ["square", "pill", "bar"][rng.integers(3)]
        self.bump_dark = rng.random() < 0.5
        self.lenses = int(rng.integers(2, 4))
        self.logo = rng.random() < 0.6

    # -- regions, in the phone's frame ---------------------------------------------------------

    def screen_box(self):
        """(left, top, right, bottom, radius) of the display glass."""
        w2, h2 = self.width / 2, self.height / 2
        left, right = -w2 + self.rim + self.bezel_side, w2 - self.rim - self.bezel_side
        top, bottom = -h2 + self.rim + self.bezel_top, h2 - self.rim - self.bezel_bottom
        radius = max(self.radius - self.rim - self.bezel_side, 0.03 * self.width)
        return left, top, right, bottom, radius

    def screen_sdf(self, u, v):
        left, top, right, bottom, radius = self.screen_box()
        return geom.rounded_box_sdf(u, v, (right - left) / 2, (bottom - top) / 2, radius,
                                    (left + right) / 2, (top + bottom) / 2)

    def outline_sdf(self, u, v):
        return geom.rounded_box_sdf(u, v, self.width / 2, self.height / 2, self.radius)

    def bump_box(self):
        """(left, top, right, bottom, radius) of the camera bump on the back (seen from the back)."""
        w, h = self.width, self.height
        m = 0.06 * w
        if self.bump_style == "square":
            s = 0.36 * w
            return -w / 2 + m, -h / 2 + m, -w / 2 + m + s, -h / 2 + m + s, 0.22 * s
        if self.bump_style == "pill":
            bw = 0.17 * w
            bh = bw * (self.lenses + 0.6)
            return -w / 2 + m, -h / 2 + m, -w / 2 + m + bw, -h / 2 + m + bh, bw / 2
        bh = 0.16 * w
        return -w / 2 + 0.035 * w, -h / 2 + 0.13 * w, w / 2 - 0.035 * w, -h / 2 + 0.13 * w + bh, bh / 2

    def bump_sdf(self, u, v):
        left, top, right, bottom, radius = self.bump_box()
        return geom.rounded_box_sdf(u, v, (right - left) / 2, (bottom - top) / 2, radius,
                                    (left + right) / 2, (top + bottom) / 2)

    def lens_centres(self):
        left, top, right, bottom, _ = self.bump_box()
        bw, bh = right - left, bottom - top
        if self.bump_style == "square":
            r = 0.17 * bw
            spots = [(left + 0.3 * bw, top + 0.3 * bh), (left + 0.3 * bw, top + 0.72 * bh), (left + 0.72 * bw, top + 0.5 * bh)]
        elif self.bump_style == "pill":
            r = 0.36 * bw
            step = bh / (self.lenses + 0.6)
            spots = [(left + bw / 2, top + step * (0.8 + i)) for i in range(3)]
        else:
            r = 0.32 * bh
            spots = [(left + 0.18 * bw + i * 0.1 * bw, top + bh / 2) for i in range(3)]
        return spots[: self.lenses], r

    # -- surfaces --------------------------------------------------------------------------------

    def surface(self, side, u, v):
        """(rgb, body coverage, screen coverage) of one side, before any damage."""
        sd_out = self.outline_sdf(u, v)
        alpha = geom.coverage(sd_out)
        rim_cov = geom.coverage(-(sd_out + self.rim))  # 1 on the rim band
        shine = 0.5 + 0.5 * np.cos(2.5 * np.pi * u / self.width + 0.7)
        metal = self.colour * (0.78 + 0.34 * shine)[..., None]
        gloss_axis = u * np.cos(self.gloss_angle) + v * np.sin(self.gloss_angle)
        gloss = np.exp(-((gloss_axis / self.height - 0.1) / 0.12) ** 2) * self.gloss_strength
        if side == "front":
            rgb = np.empty(u.shape + (3,))
            rgb[:] = self.bezel_colour
            # Speaker slit and front camera in the top bezel.
            _, top, _, _, _ = self.screen_box()
            slit_v = top - self.bezel_top / 2
            if self.bezel_top > 0.045 * self.width:
                slit = geom.coverage(geom.rounded_box_sdf(u, v, 0.09 * self.width, 0.008 * self.width, 0.008 * self.width, 0, slit_v))
                rgb = rgb * (1 - slit[..., None]) + 0.11 * slit[..., None]
                cam = geom.coverage(geom.circle_sdf(u, v, 0.16 * self.width, slit_v, 0.018 * self.width))
                rgb = rgb * (1 - cam[..., None]) + np.array([0.02, 0.03, 0.06]) * cam[..., None]
            screen = geom.coverage(self.screen_sdf(u, v))
            if self.screen_on:
                t = (u * np.cos(self.wall_angle) + v * np.sin(self.wall_angle)) / self.height + 0.5
                t = np.clip(t, 0, 1)[..., None]
                glass = self.wallpaper[0] * (1 - t) + self.wallpaper[1] * t
            else:
                glass = np.empty(u.shape + (3,))
                glass[:] = np.array([0.025, 0.03, 0.04])
            glass = glass + gloss[..., None] * 1.4
            rgb = rgb * (1 - screen[..., None]) + glass * screen[..., None]
            frame = metal if self.case_colour is None else self.case_colour * (0.9 + 0.15 * shine)[..., None]
            rgb = rgb * (1 - rim_cov[..., None]) + frame * rim_cov[..., None]
            return rgb, alpha, screen
        # The back.
        finish = self.colour if self.case_colour is None else self.case_colour
        shade = 0.93 + 0.1 * (0.5 - v / self.height) * 0.5
        rgb = finish * shade[..., None] + gloss[..., None] * (0.4 if self.case_colour is not None else 1.0)
        frame = metal if self.case_colour is None else self.case_colour * (0.8 + 0.15 * shine)[..., None]
        rgb = rgb * (1 - rim_cov[..., None]) + frame * rim_cov[..., None]
        if self.logo:
            logo = geom.coverage(geom.circle_sdf(u, v, 0, -0.05 * self.height, 0.07 * self.width)) * \
                   (1 - geom.coverage(geom.circle_sdf(u, v, 0, -0.05 * self.height, 0.05 * self.width)))
            rgb = rgb * (1 - 0.12 * logo[..., None]) + 0.12 * logo[..., None] * np.clip(finish * 1.3 + 0.1, 0, 1)
        bump = geom.coverage(self.bump_sdf(u, v))
        bump_colour = np.array([0.09, 0.09, 0.1]) if self.bump_dark else finish * 0.82
        ring = bump * (1 - geom.coverage(self.bump_sdf(u, v) + 0.012 * self.width))
        rgb = rgb * (1 - bump[..., None]) + bump_colour * bump[..., None]
        rgb = rgb * (1 - ring[..., None]) + np.clip(finish * 1.15, 0, 1) * ring[..., None]
        centres, r = self.lens_centres()
        for cu, cv in centres:
            outer = geom.coverage(geom.circle_sdf(u, v, cu, cv, r))
            glass = geom.coverage(geom.circle_sdf(u, v, cu, cv, 0.72 * r))
            spark = geom.coverage(geom.circle_sdf(u, v, cu - 0.25 * r, cv - 0.25 * r, 0.14 * r))
            rgb = rgb * (1 - outer[..., None]) + 0.38 * outer[..., None]
            rgb = rgb * (1 - glass[..., None]) + np.array([0.02, 0.025, 0.04]) * glass[..., None]
            rgb = rgb * (1 - 0.7 * spark[..., None]) + 0.7 * 0.8 * spark[..., None]
        left, top, right, bottom, _ = self.bump_box()
        if self.bump_style == "bar":
            fu, fv = right - 0.12 * (right - left), (top + bottom) / 2
        else:
            fu, fv = right + 0.09 * self.width, top + 0.08 * self.width
        flash = geom.coverage(geom.circle_sdf(u, v, fu, fv, 0.035 * self.width))
        rgb = rgb * (1 - flash[..., None]) + np.array([0.86, 0.82, 0.62]) * flash[..., None]
        return rgb, alpha, np.zeros_like(alpha)


# -- damages ---------------------------------------------------------------------------------------

class Damage:
    """One drawn damage in the phone's frame: strokes (cracks, scratches) or a bite (chips)."""

    def __init__(self, kind, stroke, side, paths=None, width=None, polygon=None, band=None):
        self.kind, self.stroke, self.side = kind, stroke, side
        self.paths, self.width = paths or [], width
        self.polygon, self.band = polygon, band

    def points(self):
        if self.polygon is not None:
            return self.polygon
        return np.vstack(self.paths)


def _inside(region, p, margin):
    return region(np.array([p[0]]), np.array([p[1]]))[0] <= -margin


def crack(rng, side, region, start_box, scale, web):
    """Jagged branches from an impact point; with `web`, rings join neighbouring branches."""
    width = rng.uniform(3.4, 5.0) * scale
    margin = width + 3
    left, top, right, bottom = start_box
    for _ in range(50):
        impact = np.array([rng.uniform(left, right), rng.uniform(top, bottom)])
        if _inside(region, impact, margin + 10 * scale):
            break
    else:
        return None
    count = int(rng.integers(3, 7))
    angles = np.sort(rng.uniform(0, 2 * np.pi, count))
    span = (bottom - top)
    branches = []
    for a in angles:
        length = rng.uniform(0.12, 0.42) * span
        p, heading, path, travelled = impact.copy(), a, [impact.copy()], 0.0
        while travelled < length:
            step = rng.uniform(7, 18) * scale
            heading += rng.normal(0, 0.3)
            q = p + step * np.array([np.cos(heading), np.sin(heading)])
            if not _inside(region, q, margin):
                break
            path.append(q)
            p, travelled = q, travelled + step
        if len(path) >= 3:
            branches.append(np.array(path))
    if len(branches) < 2:
        return None
    paths = list(branches)
    for b in branches:  # forks
        if len(b) >= 5 and rng.random() < 0.5:
            k = int(rng.integers(2, len(b) - 1))
            p = b[k].copy()
            d = b[k] - b[k - 1]
            heading = np.arctan2(d[1], d[0]) + rng.choice([-1, 1]) * rng.uniform(0.5, 1.0)
            path = [p.copy()]
            for _ in range(int(rng.integers(2, 6))):
                heading += rng.normal(0, 0.3)
                q = p + rng.uniform(7, 15) * scale * np.array([np.cos(heading), np.sin(heading)])
                if not _inside(region, q, margin):
                    break
                path.append(q)
                p = q
            if len(path) >= 2:
                paths.append(np.array(path))
    if web:
        order = sorted(branches, key=lambda b: np.arctan2(*(b[1] - b[0])[::-1]))
        for i in range(len(order)):
            a, b = order[i], order[(i + 1) % len(order)]
            k = int(rng.integers(2, 4))
            if len(a) <= k or len(b) <= k:
                continue
            pa, pb = a[k], b[k]
            gap = np.linalg.norm(pb - pa)
            if gap > 0.35 * span or gap < 6 * scale:
                continue
            mid = (pa + pb) / 2 + rng.normal(0, 0.15 * gap, 2)
            path = np.array([pa, mid, pb])
            if all(_inside(region, q, margin) for q in path):
                paths.append(path)
    return Damage("crack", "crack-web" if web else "crack-radial", side, paths=paths, width=width)


def scratch(rng, side, region, start_box, scale, stroke, length_range, width_range):
    """One scratch: an arc, a nearly straight line or a sine wave, inside the region."""
    width = rng.uniform(*width_range) * scale
    margin = width + 3
    left, top, right, bottom = start_box
    span = bottom - top
    for _ in range(40):
        start = np.array([rng.uniform(left, right), rng.uniform(top, bottom)])
        heading = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(*length_range) * span
        n = max(int(length / (3 * scale)), 8)
        s = np.linspace(0, length, n)
        direction = np.array([np.cos(heading), np.sin(heading)])
        normal = np.array([-direction[1], direction[0]])
        if stroke == "scratch-arc":
            radius = rng.uniform(0.5, 2.0) * span * rng.choice([-1, 1])
            theta = s / radius
            along, across = radius * np.sin(theta), radius * (1 - np.cos(theta))
        elif stroke == "scratch-sine":
            amp, period = rng.uniform(4, 13) * scale, rng.uniform(40, 110) * scale
            along, across = s, amp * np.sin(2 * np.pi * s / period + rng.uniform(0, 2 * np.pi))
        else:
            along = s
            across = rng.uniform(-3, 3) * scale * np.sin(np.pi * s / length) + rng.normal(0, 0.25 * scale, n).cumsum() * 0.2
        path = start + along[:, None] * direction + across[:, None] * normal
        if region(path[:, 0], path[:, 1]).max() <= -margin:
            return Damage("scratch", stroke, side, paths=[path], width=width)
    return None


def chip(rng, spec, side, scale, at_corner):
    """A polygonal bite out of the outline, at a corner or along an edge."""
    w2, h2, r = spec.width / 2, spec.height / 2, spec.radius
    if at_corner:
        su, sv = rng.choice([-1, 1]), rng.choice([-1, 1])
        centre = np.array([su * (w2 - r), sv * (h2 - r)])
        out = np.array([su, sv]) / np.sqrt(2)
        anchor = centre + r * out
        inward = -out
        bite_w, depth = rng.uniform(45, 80) * scale, rng.uniform(12, 20) * scale
    else:
        edge = int(rng.integers(4))
        if edge < 2:  # left or right
            anchor = np.array([(-1 if edge == 0 else 1) * w2, rng.uniform(-h2 + r + 40 * scale, h2 - r - 40 * scale)])
            inward = np.array([1.0 if edge == 0 else -1.0, 0.0])
        else:
            anchor = np.array([rng.uniform(-w2 + r + 40 * scale, w2 - r - 40 * scale), (-1 if edge == 2 else 1) * h2])
            inward = np.array([0.0, 1.0 if edge == 2 else -1.0])
        bite_w, depth = rng.uniform(40, 70) * scale, rng.uniform(10, 17) * scale
    if side == "front":  # stay in the frame and bezel, off the glass
        depth = min(depth, spec.rim + spec.bezel_side - 8 * scale)
        depth = max(depth, 7 * scale)
    tangent = np.array([-inward[1], inward[0]])
    k = int(rng.integers(4, 7))
    s = np.linspace(-bite_w / 2, bite_w / 2, k + 2)[1:-1] + rng.uniform(-0.08, 0.08, k) * bite_w
    s.sort()
    profile = depth * (1 - (2 * s / bite_w) ** 2) ** 0.6 * rng.uniform(0.6, 1.15, k)
    far = 28 * scale
    local = [(-bite_w / 2, -far), (-bite_w / 2, 0.15 * depth)] + list(zip(s, profile)) + \
            [(bite_w / 2, 0.15 * depth), (bite_w / 2, -far)]
    polygon = np.array([anchor + a * tangent + t * inward for a, t in local])
    band = rng.uniform(6, 9) * scale
    return Damage("chip", "chip-bite", side, polygon=polygon, band=band)


def damage_layer(damage, u, v):
    """(colour coverage, label mask, bite coverage) of a damage over a window of (u, v)."""
    if damage.kind == "chip":
        sd = geom.polygon_sdf(u, v, damage.polygon)
        bite = geom.coverage(sd)
        cov = np.clip(damage.band + 0.5 - sd, 0, 1) * (1 - bite)
        return cov, (sd > 0) & (sd <= damage.band), bite
    d = np.full(u.shape, np.inf)
    for path in damage.paths:
        np.minimum(d, geom.polyline_distance(u, v, path), out=d)
    half = damage.width / 2
    return np.clip(half + 0.5 - d, 0, 1), d <= half, None


def damage_colour(damage, rng, base_luma):
    """The colour a damage is drawn in and its opacity, from the surface's brightness."""
    if damage.kind == "crack":
        return (np.array([0.82, 0.84, 0.86]) if base_luma < 0.55 else np.array([0.22, 0.23, 0.25])), rng.uniform(0.75, 0.92)
    if damage.kind == "scratch":
        return (np.array([0.70, 0.71, 0.72]) if base_luma < 0.55 else np.array([0.30, 0.30, 0.31])), rng.uniform(0.55, 0.75)
    return (np.array([0.78, 0.77, 0.74]) if base_luma < 0.5 else np.array([0.30, 0.29, 0.27])), 1.0
