"""From a drawn scene to a kiosk photo: tray shadow, light colour and falloff, exposure, lens
softness, sensor noise, and the faults that make a photo unusable (dark, blurred, washed out).
"""

import numpy as np
from scipy import ndimage

# Colour casts as multipliers on RGB; each is scaled to keep the luma the same.
ORDINARY_LIGHTING = {"neutral": (1.0, 1.0, 1.0), "cool-daylight": (0.94, 0.99, 1.08)}
HELD_OUT_LIGHTING = {"warm-2700K": (1.0, 0.80, 0.54), "green-fluorescent": (0.90, 1.07, 0.86)}
LUMA = np.array([0.299, 0.587, 0.114])


def cast(name):
    rgb = np.array({**ORDINARY_LIGHTING, **HELD_OUT_LIGHTING}[name])
    return rgb / float(rgb @ LUMA)


def shadow(rng, background, alpha, scale):
    """Darkens the tray under and beside the phone, as a soft light from above does."""
    soft = ndimage.gaussian_filter(alpha, rng.uniform(5, 12) * scale)
    shifted = ndimage.shift(soft, (rng.uniform(2, 10) * scale, rng.uniform(-8, 8) * scale), order=1, cval=0.0)
    return background * (1 - rng.uniform(0.25, 0.45) * shifted)[..., None]


def light(rng, image, lighting):
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = ((xx - w / 2) * np.cos(angle) + (yy - h / 2) * np.sin(angle)) / (0.5 * np.hypot(w, h))
    falloff = 1 + rng.uniform(0.04, 0.14) * ramp
    radius2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    vignette = 1 - rng.uniform(0.06, 0.18) * radius2 / 2
    return image * cast(lighting) * (falloff * vignette)[..., None]


def expose(rng, image, low=80, high=170):
    """Auto exposure to a mean luma from `low` to `high` (of 255), with soft highlights."""
    mean = float((image @ LUMA).mean()) * 255
    target = float(np.clip(mean, low, high)) if low <= mean <= high else rng.uniform(low, high)
    image = image * (target / max(mean, 1e-6))
    knee = 0.86
    over = np.maximum(image - knee, 0)
    return np.minimum(image, knee) + 0.09 * np.tanh(over / 0.09)


def finish(rng, image, blur_sigma, noise_sigma):
    """Lens blur, then sensor noise (mostly in luma, brighter pixels noisier), to uint8."""
    image = np.stack([ndimage.gaussian_filter(image[..., c], blur_sigma) for c in range(3)], axis=-1) if blur_sigma > 0 else image
    value = image * 255
    h, w = value.shape[:2]
    grain = rng.standard_normal((h, w))
    strength = noise_sigma * (0.6 + 0.5 * np.sqrt(np.clip(value @ LUMA / 255, 0, 1)))
    value = value + (grain * strength)[..., None] + rng.standard_normal((h, w, 3)) * noise_sigma * 0.3
    return np.clip(np.round(value), 0, 255).astype(np.uint8)


def darken(rng, image):
    """Underexposure: a mean luma from 12 to 26."""
    mean = float((image @ LUMA).mean()) * 255
    return image * (rng.uniform(12, 26) / max(mean, 1e-6))


def wash_out(rng, image):
    """Overexposure without clipping: everything squeezed into the top of the range."""
    floor = rng.uniform(0.83, 0.85)
    return floor + (0.96 - floor) * np.clip(image / max(float(image.max()), 1e-6), 0, 1)
