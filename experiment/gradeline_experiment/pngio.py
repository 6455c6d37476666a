"""Minimal PNG reading and writing with zlib, for 8-bit gray and RGB arrays.

The experiment writes its images with this module so that it needs only numpy.
"""
import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode(pixels: np.ndarray, level: int = 6) -> bytes:
    """Encodes an HxW (gray) or HxWx3 (RGB) uint8 array as PNG, using the Up filter."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim == 2:
        color_type, rows = 0, pixels
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        color_type, rows = 2, pixels.reshape(pixels.shape[0], -1)
    else:
        raise ValueError(f"expected HxW or HxWx3 uint8, got shape {pixels.shape}")
    height, width = pixels.shape[:2]
    # Filter type 2 (Up) compresses photos far better than no filter and is one numpy line.
    up = rows.astype(np.int16) - np.vstack([np.zeros((1, rows.shape[1]), np.int16), rows[:-1].astype(np.int16)])
    filtered = np.hstack([np.full((height, 1), 2, np.uint8), (up % 256).astype(np.uint8)])
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(filtered.tobytes(), level)) + _chunk(b"IEND", b""))


def write(path, pixels: np.ndarray) -> None:
    with open(path, "wb") as handle:
        handle.write(encode(pixels))


def decode(data: bytes) -> np.ndarray:
    """Decodes the 8-bit gray or RGB, non-interlaced PNGs that `encode` writes (any filter)."""
    if data[:8] != _SIGNATURE:
        raise ValueError("not a PNG")
    offset, idat, header = 8, b"", None
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height, depth, color_type, _, _, interlace = header
    if depth != 8 or color_type not in (0, 2) or interlace:
        raise ValueError("only 8-bit gray or RGB, non-interlaced")
    channels = 1 if color_type == 0 else 3
    stride = width * channels
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), np.int32)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int32)
        prior = out[y - 1] if y else np.zeros(stride, np.int32)
        if kind == 0:
            out[y] = line
        elif kind == 2:
            out[y] = (line + prior) % 256
        elif kind == 1:
            row = line.copy()
            for x in range(channels, stride):
                row[x] = (row[x] + row[x - channels]) % 256
            out[y] = row
        else:
            raise ValueError(f"filter {kind} is not supported here")
    return out.astype(np.uint8).reshape((height, width) if channels == 1 else (height, width, 3))
