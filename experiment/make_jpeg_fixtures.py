#!/usr/bin/python3
"""Writes Tests/Fixtures/jpeg/: small JPEGs and the RGB pixels Pillow decodes from them.

    /usr/bin/python3 experiment/make_jpeg_fixtures.py

Run it with Debian's python3: its Pillow (9.4) decodes through the system's libjpeg-turbo
(2.1.5), the library Gradeline's decoder links, so the two must agree pixel for pixel. The
restart-marker file is made with jpegtran (Debian's libjpeg-turbo-progs), which adds restart
markers without changing a pixel.

For each decodable NAME.jpg it writes NAME.npy: uint8, shape (height, width, 3), what
`ImageOps.exif_transpose(Image.open(NAME.jpg)).convert("RGB")` gives. Files with no .npy
(corrupt_*, truncated_*, cmyk) must be refused, except the phone-02 photos, graded whole. Everything is made from a fixed seed.
"""
import io
import os
import struct
import subprocess

import numpy as np
from PIL import Image, ImageOps, features

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "jpeg")


def picture(width, height, seed=7):
    """An RGB picture with smooth gradients, sharp coloured edges and a little noise, so that
    chroma upsampling and the IDCT both matter, and no symmetry hides a wrong orientation."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 255 * x / (width - 1)
    g = 255 * y / (height - 1)
    b = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    image = np.stack([r, g, b], axis=-1)
    image[height // 5:height // 2, width // 6:width // 2] = [230, 30, 40]      # a red block, top left
    image[(2 * height) // 3:, (3 * width) // 4:] = [20, 40, 210]              # a blue block, bottom right
    image[:, width // 3:width // 3 + 2] = [250, 250, 250]                    # a thin white line
    image += rng.normal(0, 6, image.shape)
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB")


def tiff_orientation(value, big_endian):
    """A TIFF structure with one IFD holding only Orientation (0x0112, SHORT, 1 value)."""
    e = ">" if big_endian else "<"
    head = (b"MM\x00\x2a" if big_endian else b"II\x2a\x00") + struct.pack(e + "I", 8)
    entry = struct.pack(e + "HHI", 0x0112, 3, 1) + struct.pack(e + "H", value) + b"\x00\x00"
    return head + struct.pack(e + "H", 1) + entry + struct.pack(e + "I", 0)


def save(name, image, **options):
    path = os.path.join(OUT, name + ".jpg")
    image.save(path, "JPEG", **options)
    return path


def write_expected(name):
    """Decodes NAME.jpg as Pillow does by default and writes NAME.npy."""
    with Image.open(os.path.join(OUT, name + ".jpg")) as image:
        upright = ImageOps.exif_transpose(image).convert("RGB")
    pixels = np.asarray(upright, dtype=np.uint8)
    np.save(os.path.join(OUT, name + ".npy"), pixels)
    return pixels


def write_bytes(name, data):
    with open(os.path.join(OUT, name + ".jpg"), "wb") as f:
        f.write(data)


def main():
    assert features.check("jpg"), "this Pillow has no JPEG support"
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith((".jpg", ".npy")):
            os.remove(os.path.join(OUT, old))

    # Valid files Pillow and Gradeline must decode alike. Odd sizes make the MCUs partial.
    decodable = []
    save("baseline_420", picture(77, 53), quality=90, subsampling=2)
    save("baseline_422", picture(80, 60, seed=8), quality=85, subsampling=1)
    save("baseline_444", picture(64, 48, seed=9), quality=95, subsampling=0)
    save("progressive_420", picture(96, 72, seed=10), quality=88, subsampling=2, progressive=True)
    save("progressive_444", picture(70, 50, seed=11), quality=92, subsampling=0, progressive=True)
    save("gray", picture(64, 48, seed=12).convert("L"), quality=90)
    save("gray_progressive", picture(66, 49, seed=13).convert("L"), quality=80, progressive=True)
    decodable += ["baseline_420", "baseline_422", "baseline_444", "progressive_420", "progressive_444",
                  "gray", "gray_progressive"]
    # Restart markers every MCU row and every 2 MCUs: jpegtran rewrites the entropy-coded data
    # losslessly, so the pixels are the source file's.
    for name, interval in [("restart_rows", "1"), ("restart_blocks", "2B")]:
        subprocess.run(["jpegtran", "-restart", interval, "-copy", "none", "-outfile",
                        os.path.join(OUT, name + ".jpg"), os.path.join(OUT, "baseline_420.jpg")], check=True)
        data = open(os.path.join(OUT, name + ".jpg"), "rb").read()
        assert b"\xff\xdd" in data and b"\xff\xd0" in data, name + " has no restart markers"
        decodable.append(name)

    # Each EXIF orientation on one 64x48 picture, the odd ones big-endian, the even ones little.
    upright = picture(64, 48, seed=14)
    for value in range(1, 9):
        name = f"orientation_{value}"
        save(name, upright, quality=90, exif=b"Exif\x00\x00" + tiff_orientation(value, value % 2 == 1))
        with Image.open(os.path.join(OUT, name + ".jpg")) as image:
            assert image.getexif().get(0x0112) == value, name
        decodable.append(name)

    for name in decodable:
        write_expected(name)

    # A sample phone as a kiosk might send it: JPEG at quality 90, the back stored on its side
    # with orientation 6, so that only a decoder that applies it sees the phone upright. The
    # tests grade these through the shipped pipeline (no .npy: they are large).
    samples = os.path.join(OUT, "..", "..", "..", "samples")
    front = Image.open(os.path.join(samples, "phone-02-front.png")).convert("RGB")
    back = Image.open(os.path.join(samples, "phone-02-back.png")).convert("RGB")
    save("phone-02-front", front, quality=90)
    save("phone-02-back", back.transpose(Image.Transpose.ROTATE_90), quality=90,
         exif=b"Exif\x00\x00" + tiff_orientation(6, big_endian=False))
    with Image.open(os.path.join(OUT, "phone-02-back.jpg")) as image:
        assert ImageOps.exif_transpose(image).size == back.size

    # Files to refuse.
    save("cmyk", picture(64, 48, seed=15).convert("CMYK"), quality=90)
    baseline = open(os.path.join(OUT, "baseline_420.jpg"), "rb").read()
    progressive = open(os.path.join(OUT, "progressive_420.jpg"), "rb").read()
    scan = baseline.index(b"\xff\xda")
    write_bytes("truncated_in_scan", baseline[: scan + (len(baseline) - scan) // 2])
    write_bytes("truncated_progressive", progressive[: len(progressive) * 2 // 3])
    write_bytes("truncated_in_header", baseline[: scan // 2])
    write_bytes("truncated_no_eoi", baseline[:-2])
    # Damage libjpeg notices only as warnings: it would go on with made-up data.
    damaged = bytearray(baseline)
    for i in range(scan + 30, scan + 110):     # scramble entropy-coded bytes, avoiding 0xFF
        damaged[i] = (damaged[i] * 7 + 13) % 255
    write_bytes("corrupt_scan_data", bytes(damaged))  # "... extraneous bytes before marker 0xd9"
    restarts = bytearray(open(os.path.join(OUT, "restart_rows.jpg"), "rb").read())
    restarts[restarts.index(b"\xff\xd1") + 1] = 0xD5
    write_bytes("corrupt_restart_marker", bytes(restarts))  # "found marker 0xd5 instead of RST1"
    write_bytes("corrupt_early_eoi", baseline[: scan + 50] + b"\xff\xd9")  # "premature end of data segment"
    write_bytes("corrupt_no_frame", baseline[:2] + b"\xff\xd9")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
