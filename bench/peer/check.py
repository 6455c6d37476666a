"""The peer's unit check: its task function, with no broker, on the sample phones.

    python3 bench/peer/check.py [--gradeline BIN_DIR]

For phone-01, 02 and 03 (samples/phone-0N-{front,back}.png) it runs the task's function,
`Pipeline.grade`, and checks:
- the status, grade and rule equal Gradeline's recorded ones (models/canaries/<phone>/expected.json:
  A, D and C; the canaries' photos are the samples, byte for byte);
- its area resize gives the bytes of the experiment's preprocess.resize_area (the training's);
- its damages (scipy.ndimage.label and its zones) equal the experiment's find_damages
  (experiment/gradeline_experiment/damages.py, which `gradeline-worker parity` holds to the
  worker) on the same masks;
- with --gradeline, the status, grade and damages equal `gradeline-worker grade` on the same
  photos (the masks come from another runtime, so each damage's area may differ by a few pixels:
  differences are printed; only type, side, zone and severity must agree).
Exits 1 on any mismatch. The comparison of bench/peer.sh is only fair while this passes.
"""
import argparse
import json
import pathlib
import subprocess
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import jobs  # noqa: E402
import pipeline as peer_pipeline  # noqa: E402
from gradeline_experiment import damages as experiment_damages  # noqa: E402
from gradeline_experiment import preprocess  # noqa: E402

ROOT = jobs.ROOT
PHONES = ["phone-01", "phone-02", "phone-03"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gradeline", type=pathlib.Path, help="a folder with gradeline-worker (release)")
    args = parser.parse_args()
    peer = peer_pipeline.Pipeline()
    problems = []
    for phone in PHONES:
        files = [ROOT / "samples" / f"{phone}-{side}.png" for side in ("front", "back")]
        (_, job), = jobs.from_files(files)
        result = peer.grade(job)
        want = jobs.expected(phone)
        canary = ROOT / "models" / "canaries" / phone
        same_photos = all((canary / f"{side}.png").read_bytes() == (ROOT / "samples" / f"{phone}-{side}.png").read_bytes()
                          for side in ("front", "back"))
        got = {key: result[key] for key in ("status", "grade", "grade_rule")}
        line = f"{phone}: peer {got['status']} {got['grade']} ({got['grade_rule']}), {len(result['damages'])} damages"
        if result["error"]:
            line += f", error {result['error']}"
        if want is None or not same_photos:
            problems.append(f"{phone}: no canary with the sample's photos to compare with")
        else:
            line += f"; Gradeline's canary {want['status']} {want['grade']} ({want['grade_rule']})"
            if got != want:
                problems.append(f"{phone}: the peer gives {got}, Gradeline {want}")
        print(line)

        # The same stages again, by hand, to compare the parts with the experiment's.
        photos = peer.photos(job)
        images = peer.decode(photos)
        for side, image in images.items():
            if not np.array_equal(peer_pipeline.resize_area(image, 256, 512), preprocess.resize_area(image, 256, 512)):
                problems.append(f"{phone} {side}: the peer's area resize differs from the experiment's")
        batch = peer.preprocess(images)
        logits = peer.session.run([peer.model_output], {peer.model_input: batch})[0]
        masks = logits.argmax(axis=1).astype(np.uint8)
        photo_masks = {side: peer.resize_mask(masks[n], images[side].shape[:2]) for n, side in enumerate(images)}
        p = peer.params["find_damages"]
        reference, _ = experiment_damages.find_damages(
            photo_masks, peer.classes, p["damage_classes"], p["min_area_px"], p["edge_px"],
            p.get("corner_fraction", 0.15), p.get("moderate_ratio", 0.002), p.get("severe_ratio", 0.01),
            p.get("screen_sides", ["front"]), p.get("min_area_px_by_type", {}),
            p.get("merge_types", []), p.get("merge_weights", {}), p.get("retype_elongated", {}),
            p.get("elongation_limit", 7))
        if reference != result["damages"]:
            problems.append(f"{phone}: the peer's damages differ from the experiment's find_damages on the same masks")
        else:
            print("  damages equal the experiment's find_damages on the same masks; area resize bit-identical")

        if args.gradeline:
            command = [str(args.gradeline / "gradeline-worker"), "grade", "--format", "json", "--job-id", phone,
                       "--pipeline", str(ROOT / "config" / "pipeline.yaml")]
            command += [f"--side={side}={path}" for side, path in zip(("front", "back"), files)]
            gradeline = json.loads(subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout)
            compare_with_gradeline(phone, result, gradeline, problems)
    check_fixture_masks(peer, problems)
    for problem in problems:
        print(f"MISMATCH {problem}")
    disagree = {problem.split(":")[0].split()[0] for problem in problems}
    print(f"peer check: {len(PHONES) - len(disagree & set(PHONES))} of {len(PHONES)} phones agree; "
          f"{'fixture masks agree' if not any(p.startswith('fixture') for p in problems) else 'fixture masks differ'}")
    sys.exit(1 if problems else 0)


def check_fixture_masks(peer, problems):
    """The peer's find_damages on Tests/Fixtures/damages/elongation.json's masks, whose cracks
    the samples never retype, against the damages the experiment found there."""
    fixture = json.loads((ROOT / "Tests" / "Fixtures" / "damages" / "elongation.json").read_text())
    params, classes = peer.params["find_damages"], peer.classes
    try:
        for index, case in enumerate(fixture["masks"]):
            peer.params["find_damages"], peer.classes = case["params"], case["classes"]
            masks = {side: np.frombuffer(digits.encode(), np.uint8).reshape(case["height"], case["width"]) - ord("0")
                     for side, digits in case["labels"].items()}
            if peer.find_damages(masks) != case["damages"]:
                problems.append(f"fixture mask {index}: the peer's damages differ from the experiment's")
    finally:
        peer.params["find_damages"], peer.classes = params, classes
    print(f"fixture masks: {len(fixture['masks'])} checked against the experiment's damages (elongated cracks retyped)")


def compare_with_gradeline(phone, peer, gradeline, problems):
    for key in ("status", "grade", "grade_rule"):
        if peer[key] != gradeline[key]:
            problems.append(f"{phone}: {key} is {peer[key]!r} in the peer, {gradeline[key]!r} in gradeline-worker grade")
    kinds = lambda result: [(d["side"], d["type"], d["zone"], d["severity"]) for d in result["damages"]]
    if kinds(peer) != kinds(gradeline):
        problems.append(f"{phone}: damages (side, type, zone, severity) differ: peer {kinds(peer)}, Gradeline {kinds(gradeline)}")
        return
    shifts = [(d["area_px"] - g["area_px"], tuple(d["bbox"][k] - g["bbox"][k] for k in ("x", "y", "width", "height")))
              for d, g in zip(peer["damages"], gradeline["damages"])]
    moved = [s for s in shifts if s != (0, (0, 0, 0, 0))]
    print(f"  gradeline-worker grade: {gradeline['status']} {gradeline['grade']} ({gradeline['grade_rule']}), "
          f"{len(gradeline['damages'])} damages, "
          + ("every box and area the same" if not moved else f"{len(moved)} differ in area or box: {moved}"))


if __name__ == "__main__":
    main()
