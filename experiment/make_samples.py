"""Writes the sample photos the repository ships under samples/, with their label maps.

    python3 experiment/make_samples.py            # from the repository root

The seed is fixed, so the files are the same on every run and every machine with the same
numpy version. samples/manifest.json lists each photo's side and drawn damage.
"""
import json
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gradeline_experiment import pngio, synth  # noqa: E402

SEED = 20261128
# phone, side, cracks, scratches, chips
PLAN = [
    ("phone-01", "front", 0, 0, 0), ("phone-01", "back", 0, 0, 0),
    ("phone-02", "front", 1, 0, 0), ("phone-02", "back", 0, 2, 0),
    ("phone-03", "front", 0, 2, 1), ("phone-03", "back", 0, 0, 2),
]


def main() -> None:
    root = pathlib.Path(__file__).resolve().parent.parent / "samples"
    (root / "labels").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    manifest = {"seed": SEED, "classes": synth.CLASSES, "photos": []}
    colours = {}
    for phone, side, cracks, scratches, chips in PLAN:
        colour = colours.setdefault(phone, int(rng.integers(len(synth.BODY_COLOURS))))
        spec = synth.Spec(side=side, cracks=cracks, scratches=scratches, chips=chips, colour=colour)
        image, labels = synth.render(rng, spec)
        name = f"{phone}-{side}.png"
        pngio.write(root / name, image)
        pngio.write(root / "labels" / name, labels)
        present = sorted(synth.CLASSES[i] for i in np.unique(labels))
        manifest["photos"].append({"file": name, "phone": phone, "side": side, "cracks": cracks,
                                   "scratches": scratches, "chips": chips, "classes_present": present})
        print(f"wrote samples/{name} {image.shape[1]}x{image.shape[0]} classes {present}")
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
