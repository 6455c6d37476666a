#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora: fuzz/corpus/png/, fuzz/corpus/jpeg/ and fuzz/corpus/job/.

    python3 fuzz/make_corpus.py

Seeds are small (a few KB at most): valid files of every kind the decoder and the job
parser take, near-valid ones, and the hostile ones the hardening refuses (chunk-length
bombs, zlib bombs, odd JSON). Crash reproducers added by hand live beside them, named
crash-*, and are left alone here.
"""
import base64
import json
import os
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind, data, length=None):
    size = len(data) if length is None else length
    return struct.pack(">I", size) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, depth, color, rows, extra=(), interlace=0, idat=None, tail=b""):
    """A PNG whose filtered scanlines are `rows`, with `extra` chunks after IHDR."""
    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    out = SIGNATURE + chunk(b"IHDR", header)
    for kind, data in extra:
        out += chunk(kind, data)
    out += chunk(b"IDAT", zlib.compress(rows, 9) if idat is None else idat)
    return out + tail + chunk(b"IEND", b"")


def gray_rows(width, height, value=lambda x, y: (x * 7 + y * 13) & 0xFF):
    return b"".join(b"\0" + bytes(value(x, y) for x in range(width)) for y in range(height))


def rgb_rows(width, height, channels=3):
    return b"".join(b"\0" + bytes((x * 40 + y * 3 + c * 90) & 0xFF for x in range(width) for c in range(channels))
                    for y in range(height))


def png_seeds():
    seeds = {
        "gray8.png": png(8, 6, 8, 0, gray_rows(8, 6)),
        "gray1.png": png(16, 4, 1, 0, b"".join(b"\0" + b"\xa5\x5a" for _ in range(4))),
        "gray16.png": png(4, 4, 16, 0, b"".join(b"\0" + bytes(range(8)) for _ in range(4))),
        "rgb8.png": png(6, 5, 8, 2, rgb_rows(6, 5)),
        "rgba8.png": png(5, 5, 8, 6, rgb_rows(5, 5, 4)),
        "gray_alpha8.png": png(4, 3, 8, 4, rgb_rows(4, 3, 2)),
        "palette_trns.png": png(4, 4, 2, 3, b"".join(b"\0" + b"\x1b" for _ in range(4)),
                                extra=[(b"PLTE", bytes(range(12))), (b"tRNS", b"\x00\x80")]),
        "interlaced_rgb.png": png(9, 9, 8, 2, b"", interlace=1, idat=zlib.compress(
            adam7_rows(9, 9, 3))),
        "one_pixel.png": png(1, 1, 8, 0, b"\x00\x80"),
        "text_chunks.png": png(3, 3, 8, 0, gray_rows(3, 3), extra=[
            (b"tEXt", b"Comment\0kiosk 7"),
            (b"zTXt", b"Comment\0\0" + zlib.compress(b"zipped text " * 20)),
            (b"iTXt", b"Comment\0\0\0en\0\0kiosk"),
            (b"gAMA", struct.pack(">I", 45455)),
            (b"pHYs", struct.pack(">IIB", 2835, 2835, 1))]),
        "split_idat.png": split_idat(png(16, 16, 8, 0, gray_rows(16, 16)), 17),
        "header_only_huge.png": SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 10000, 10000, 8, 2, 0, 0, 0))
        + chunk(b"IEND", b""),
        "truncated.png": png(8, 6, 8, 0, gray_rows(8, 6))[:60],
        "bad_crc.png": bad_crc(png(4, 4, 8, 0, gray_rows(4, 4))),
        # A zlib stream that goes on with 4 MB of zeros after the image's one row.
        "bomb_zeros_after_rows.png": png(1, 1, 8, 0, b"", idat=zlib.compress(b"\x00\x80" + bytes(4 << 20), 9)),
        # A second stream after the first one ended.
        "bomb_second_stream.png": png(1, 1, 8, 0, b"\x00\x80",
                                      tail=chunk(b"IDAT", zlib.compress(bytes(4 << 20), 9))),
    }
    # A 1x1 image with an ancillary chunk whose length field claims 2 GiB.
    for kind, data in [(b"tEXt", b"Comment\0x"), (b"zTXt", b"Comment\0\0x\x9c"), (b"iTXt", b"Comment\0\0\0"),
                       (b"sPLT", b"p\0\x08"), (b"pCAL", b"d\0"), (b"sCAL", b"\x011\x001"), (b"eXIf", b"MM\0*")]:
        body = SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
        body += struct.pack(">I", 0x7FFFFFFF) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        body += chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b"")
        seeds[f"bomb_length_{kind.decode()}.png"] = body
    return seeds


def adam7_rows(width, height, channels):
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    out = b""
    for x0, y0, dx, dy in passes:
        xs, ys = range(x0, width, dx), range(y0, height, dy)
        if not xs or not ys:
            continue
        for y in ys:
            out += b"\0" + bytes((x * 30 + y * 5 + c * 70) & 0xFF for x in xs for c in range(channels))
    return out


def split_idat(data, size):
    """The same PNG with its image data cut into IDAT chunks of `size` bytes."""
    start = data.index(b"IDAT") - 4
    length = struct.unpack(">I", data[start:start + 4])[0]
    stream = data[start + 8:start + 8 + length]
    pieces = b"".join(chunk(b"IDAT", stream[i:i + size]) for i in range(0, len(stream), size))
    return data[:start] + pieces + data[start + 12 + length:]


def bad_crc(data):
    out = bytearray(data)
    out[29] ^= 0x5A  # the first byte of IHDR's CRC
    return bytes(out)


def job(**overrides):
    body = {
        "schema": "gradeline.job/1",
        "job_id": "job-0001",
        "kiosk_id": "kiosk-7",
        "submitted_at": "2026-11-28T07:19:26Z",
        "device": {"model": "Phone 12", "storage_gb": 128, "colour": "blue"},
        "images": [
            {"side": "front", "content_type": "image/png",
             "data": base64.b64encode(png(2, 2, 8, 0, gray_rows(2, 2))).decode()},
            {"side": "back", "content_type": "image/png",
             "data": base64.b64encode(png(2, 2, 8, 2, rgb_rows(2, 2))).decode()},
        ],
    }
    body.update(overrides)
    return json.dumps(body).encode()


def job_seeds():
    valid = job()
    one = json.loads(valid)
    return {
        "valid.json": valid,
        "valid_minimal.json": job(device=None, images=one["images"][:1]).replace(b'"device": null, ', b""),
        "fractional_seconds.json": job(submitted_at="2026-11-28T07:19:26.123+02:00"),
        "lowercase_t_z.json": job(submitted_at="2026-11-28t07:19:26z"),
        "leap_second.json": job(submitted_at="2016-12-31T23:59:60Z"),
        "impossible_date.json": job(submitted_at="2026-02-30T24:00:00Z"),
        "unknown_field.json": job(extra_field=[1, 2, 3]),
        "duplicate_keys.json": valid.replace(b'"job_id": "job-0001"', b'"job_id": "a", "job_id": "b"'),
        "device_null.json": job(device=None),
        "device_nested.json": job(device={"a": {"b": [1, 2.5, True, None, {"c": "d"}]}}),
        "emoji_job_id.json": job(job_id="\U0001F4F1" * 80),
        "combining_job_id.json": job(job_id="e" + "\u0301" * 300),
        "control_chars_job_id.json": job(job_id="a\u0000b\r\n\u001b[31mred"),
        "lone_surrogate.json": valid.replace(b'"job-0001"', b'"\\ud800x"'),
        "side_twice.json": job(images=[one["images"][0], one["images"][0]]),
        "bad_side.json": job(images=[dict(one["images"][0], side="inside")]),
        "bad_base64.json": job(images=[dict(one["images"][0], data="not*base64!")]),
        "empty_data.json": job(images=[dict(one["images"][0], data="")]),
        "gif_content_type.json": job(images=[dict(one["images"][0], content_type="image/gif")]),
        "no_images.json": job(images=[]),
        "wrong_types.json": job(job_id=5, images={"side": "front"}),
        "huge_number.json": b'{"schema": 1e999999, "job_id": -0.0e-999}',
        "top_level_array.json": b"[1, 2, 3]",
        "top_level_null.json": b"null",
        "top_level_string.json": b'"gradeline.job/1"',
        "empty_object.json": b"{}",
        "deep_arrays.json": b'{"device": {"x": ' + b"[" * 600 + b"]" * 600 + b"}}",
        "deep_objects.json": b'{"device": ' + b'{"a":' * 300 + b"1" + b"}" * 300 + b"}",
        "non_utf8.json": valid.replace(b"kiosk-7", b"kiosk-\xff\xfe\xc3"),
        "utf8_bom.json": b"\xef\xbb\xbf" + valid,
        "utf16.json": valid.decode().encode("utf-16"),
        "truncated.json": valid[: len(valid) // 2],
        "gzip.json": bytes.fromhex("1f8b0800000000000003") + zlib.compress(valid)[2:-4],
    }


JPEG_FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "jpeg")


def segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_tables():
    """A quantisation table of ones, a DC table whose one code is category 0 and an AC table
    whose one code is EOB14 (as Tests/CoreTests/Support/CraftedJPEG.swift)."""
    return (segment(0xDB, b"\x00" + b"\x01" * 64) + segment(0xC4, b"\x00\x01" + b"\x00" * 15 + b"\x00")
            + segment(0xC4, b"\x10\x01" + b"\x00" * 15 + b"\xe0"))


def jpeg_seeds():
    """The small JPEG fixtures (valid, damaged, CMYK, each orientation), plus headers claiming
    huge sizes and a progressive file of many scans."""
    seeds = {}
    for file in sorted(os.listdir(JPEG_FIXTURES)):
        path = os.path.join(JPEG_FIXTURES, file)
        if file.endswith(".jpg") and os.path.getsize(path) < 16384:
            with open(path, "rb") as f:
                seeds[file] = f.read()
    def frame(marker, width, height, components):
        ids = b"".join(bytes([i + 1, 0x11, 0]) for i in range(components))
        return segment(marker, struct.pack(">BHHB", 8, height, width, components) + ids)
    def scan(components, ss, se):
        ids = b"".join(bytes([i + 1, 0]) for i in range(components))
        return segment(0xDA, bytes([components]) + ids + bytes([ss, se, 0]))
    soi = b"\xff\xd8"
    seeds["header_60000x60000.jpg"] = soi + jpeg_tables() + frame(0xC0, 60000, 60000, 3) + scan(3, 0, 63)
    seeds["header_9000x9000.jpg"] = soi + jpeg_tables() + frame(0xC0, 9000, 9000, 3) + scan(3, 0, 63)
    # 64x64 gray progressive: 64 blocks, a DC scan of 64 zero bits, then 1100 one-run AC scans.
    ac = scan(1, 1, 63) + b"\x00\x01"
    seeds["scan_bomb.jpg"] = (soi + jpeg_tables() + frame(0xC2, 64, 64, 1) + scan(1, 0, 0) + b"\x00" * 8
                              + ac * 1100 + b"\xff\xd9")
    return seeds


def main():
    for name, seeds in [("png", png_seeds()), ("jpeg", jpeg_seeds()), ("job", job_seeds())]:
        folder = os.path.join(ROOT, name)
        os.makedirs(folder, exist_ok=True)
        for file in os.listdir(folder):
            if not file.startswith("crash-"):
                os.remove(os.path.join(folder, file))
        for file, data in seeds.items():
            with open(os.path.join(folder, file), "wb") as out:
                out.write(data)
        print(f"{folder}: {len(seeds)} seeds, {sum(map(len, seeds.values()))} bytes")


if __name__ == "__main__":
    main()
