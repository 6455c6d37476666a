"""The bench's jobs: the same gradeline.job/1 documents gradeline-producer makes from photo files.

Files named <phone>-<side>.<ext> become one job per phone, phones in the order of the files,
sides in Gradeline's order (as FleetClients.jobs does), with the photo bytes in base64.
"""
import base64
import datetime
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
SIDES = ["front", "back", "left", "right", "top", "bottom"]
TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def from_files(paths, kiosk_id="kiosk-peer-bench"):
    """[(phone, job)] in the order the phones first appear among `paths`."""
    phones = {}
    for path in map(pathlib.Path, paths):
        phone, _, side = path.stem.rpartition("-")
        if side not in SIDES:
            phone, side = path.stem, "front"
        phones.setdefault(phone, []).append((side, path))
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    jobs = []
    for phone, files in phones.items():
        images = [{"side": side, "content_type": TYPES.get(path.suffix.lower(), "image/png"),
                   "data": base64.b64encode(path.read_bytes()).decode("ascii")}
                  for side, path in sorted(files, key=lambda item: SIDES.index(item[0]))]
        jobs.append((phone, {"schema": "gradeline.job/1", "job_id": phone, "kiosk_id": kiosk_id,
                             "submitted_at": now, "images": images}))
    return jobs


def expected(phone):
    """The canary's recorded outcome for a phone (models/canaries/<phone>/expected.json), or None.
    The canary photos are the sample photos (check.py checks they are the same bytes)."""
    path = ROOT / "models" / "canaries" / phone / "expected.json"
    if not path.exists():
        return None
    recorded = json.loads(path.read_text())
    return {"status": recorded["status"], "grade": recorded["grade"]["value"], "grade_rule": recorded["grade"]["rule"]}
