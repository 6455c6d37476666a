"""The serving pipeline's preprocessing, in numpy, so that training sees what the worker sees.

Each function mirrors a Swift function in Sources/Core/Processor/ and follows the same pixel
conventions (see docs/pipeline.md, "Conventions that serving and training must share").
"""
import numpy as np


def _linear_taps(source: int, target: int):
    scale = source / target
    position = np.clip((np.arange(target) + 0.5) * scale - 0.5, 0, source - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, source - 1)
    return low, high, (position - low).astype(np.float32)


def resize_bilinear(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`resize` with filter bilinear: half-pixel centres, clamped, rounded half up."""
    x0, x1, fx = _linear_taps(image.shape[1], width)
    y0, y1, fy = _linear_taps(image.shape[0], height)
    src = image.astype(np.float32)
    if src.ndim == 2:
        src = src[..., None]
    fx, fy = fx[None, :, None], fy[:, None, None]
    top = src[y0][:, x0] * (1 - fx) + src[y0][:, x1] * fx
    bottom = src[y1][:, x0] * (1 - fx) + src[y1][:, x1] * fx
    out = np.clip(np.floor(top * (1 - fy) + bottom * fy + 0.5), 0, 255).astype(np.uint8)
    return out[..., 0] if image.ndim == 2 else out


def nearest_indices(source: int, target: int) -> np.ndarray:
    return np.minimum(np.floor((np.arange(target) + 0.5) * source / target).astype(np.int64), source - 1)


def resize_nearest(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`resize` with filter nearest: the source pixel under each output pixel's centre."""
    return image[nearest_indices(image.shape[0], height)][:, nearest_indices(image.shape[1], width)]


def area_taps(source: int, target: int):
    """For each output index: the source indices it covers and their weights (overlap / span).

    Returns (indices, weights), each target x taps, padded with weight 0. Sources are in
    increasing order, the order in which Swift's `resize` with filter area adds them up.
    """
    scale = source / target
    taps = int(np.ceil(scale)) + 1
    start = np.arange(target) * scale
    end = start + scale
    first = np.floor(start).astype(np.int64)
    indices = first[:, None] + np.arange(taps)[None, :]
    overlap = np.minimum(end[:, None], indices + 1) - np.maximum(start[:, None], indices)
    weights = np.where((overlap > 0) & (indices < source), overlap, 0) / scale
    return np.minimum(indices, source - 1), weights


def resize_area(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`resize` with filter area: each output pixel is the mean of the source area it covers,
    weighted by overlap; a horizontal pass, then a vertical one, in float64; rounded half up."""
    src = image.astype(np.float64)
    if src.ndim == 2:
        src = src[..., None]
    xi, xw = area_taps(image.shape[1], width)
    yi, yw = area_taps(image.shape[0], height)
    horizontal = np.zeros((src.shape[0], width, src.shape[2]))
    for k in range(xi.shape[1]):
        horizontal += src[:, xi[:, k], :] * xw[None, :, k, None]
    out = np.zeros((height, width, src.shape[2]))
    for k in range(yi.shape[1]):
        out += horizontal[yi[:, k], :, :] * yw[:, k, None, None]
    out = np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)
    return out[..., 0] if image.ndim == 2 else out


MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def to_model_input(rgb: np.ndarray) -> np.ndarray:
    """`to_tensor` (x / 255) then `normalize`: HxWx3 uint8 -> 3xHxW float32."""
    x = rgb.astype(np.float32) * np.float32(1 / 255)
    x = (x - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))
