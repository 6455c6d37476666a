"""Shapes for the golden renderer: rounded boxes, polylines and polygons as distance fields.

Everything works on numpy arrays of coordinates, so one call evaluates a shape over a whole
window of the photo. Distances are in photo pixels; the phone's own frame (u, v) is a rotation
and a shift of the photo's, so distances are the same in both.
"""

import numpy as np


class Placement:
    """Where the phone lies in the photo: its centre, its size and its tilt.

    The phone's frame has u to the right and v downwards, both from the phone's centre, when the
    phone stands upright. `to_phone` maps photo pixel centres (x, y) into it.
    """

    def __init__(self, cx, cy, width, height, angle_deg):
        self.cx, self.cy = float(cx), float(cy)
        self.width, self.height = float(width), float(height)
        self.angle = np.deg2rad(angle_deg)

    def to_phone(self, x, y):
        c, s = np.cos(self.angle), np.sin(self.angle)
        dx, dy = x - self.cx, y - self.cy
        return dx * c + dy * s, -dx * s + dy * c

    def to_photo(self, u, v):
        c, s = np.cos(self.angle), np.sin(self.angle)
        return self.cx + u * c - v * s, self.cy + u * s + v * c

    def photo_box(self, pad=0.0):
        """The photo-space box (x0, y0, x1, y1) around the whole phone, padded."""
        hw, hh = self.width / 2, self.height / 2
        xs, ys = self.to_photo(np.array([-hw, hw, hw, -hw]), np.array([-hh, -hh, hh, hh]))
        return xs.min() - pad, ys.min() - pad, xs.max() + pad, ys.max() + pad


def rounded_box_sdf(u, v, half_w, half_h, radius, cu=0.0, cv=0.0):
    """Signed distance to a rounded rectangle centred at (cu, cv): negative inside."""
    radius = min(radius, half_w, half_h)
    qx = np.abs(u - cu) - (half_w - radius)
    qy = np.abs(v - cv) - (half_h - radius)
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    inside = np.minimum(np.maximum(qx, qy), 0)
    return outside + inside - radius


def circle_sdf(u, v, cu, cv, radius):
    return np.hypot(u - cu, v - cv) - radius


def coverage(sdf):
    """Anti-aliased coverage of a shape from its signed distance: 1 inside, 0 outside."""
    return np.clip(0.5 - sdf, 0.0, 1.0)


def polyline_distance(u, v, points):
    """Distance from each (u, v) to the nearest segment of a polyline of points (N x 2)."""
    best = np.full(np.shape(u), np.inf, dtype=np.float64)
    for (ax, ay), (bx, by) in zip(points[:-1], points[1:]):
        ex, ey = bx - ax, by - ay
        length2 = ex * ex + ey * ey
        if length2 < 1e-12:
            d = np.hypot(u - ax, v - ay)
        else:
            t = np.clip(((u - ax) * ex + (v - ay) * ey) / length2, 0.0, 1.0)
            d = np.hypot(u - (ax + t * ex), v - (ay + t * ey))
        np.minimum(best, d, out=best)
    return best


def polygon_inside(u, v, points):
    """Even-odd test: True where (u, v) lies inside the closed polygon of points (N x 2)."""
    inside = np.zeros(np.shape(u), dtype=bool)
    n = len(points)
    for i in range(n):
        ax, ay = points[i]
        bx, by = points[(i + 1) % n]
        crosses = (ay > v) != (by > v)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = ax + (v - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (u < at)
    return inside


def polygon_sdf(u, v, points):
    """Signed distance to a closed polygon: negative inside."""
    closed = np.vstack([points, points[:1]])
    d = polyline_distance(u, v, closed)
    return np.where(polygon_inside(u, v, points), -d, d)


def path_length(points):
    return float(np.sum(np.hypot(*np.diff(points, axis=0).T)))
