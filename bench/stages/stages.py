"""bench/stages.sh's helper: reads the traces of its rounds.

    python3 bench/stages/stages.py report DIR ROUNDS BUILD...
"""
import json
import pathlib
import statistics
import sys


def steps(path: pathlib.Path) -> dict:
    """The fastest run of each step over the file's jobs, the first job left out."""
    results = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if len(results) < 2:
        sys.exit(f"{path}: {len(results)} results; give at least 2 jobs")
    for result in results:
        if result["status"] != "graded":
            sys.exit(f"{path}: a job ended {result['status']}: {result.get('error') or result.get('reasons')}")
    fastest = {}
    for result in results[1:]:
        for entry in result["trace"]:
            key = entry["function"]
            fastest[key] = min(fastest.get(key, float("inf")), entry["duration_ms"])
    return fastest


def report(directory: str, rounds: str, builds: list) -> None:
    medians = []
    for index in range(len(builds)):
        per_round = [steps(pathlib.Path(directory) / f"round-{r}-build-{index}.json") for r in range(1, int(rounds) + 1)]
        medians.append({key: statistics.median(r[key] for r in per_round) for key in per_round[0]})
    names = list(medians[0])
    print("step".ljust(22) + "".join(build[-28:].rjust(30) for build in builds))
    for name in names:
        print(name.ljust(22) + "".join(f"{m.get(name, float('nan')):30.1f}" for m in medians))
    for build, m in zip(builds, medians):
        total, model = sum(m.values()), m.get("segment", 0.0)
        print(f"{build}: pipeline {total:.1f} ms, segment {model:.1f}, outside the model {total - model:.1f} "
              f"({(total - model) / total * 100:.0f}%; goal 25%)")
    if len(builds) == 2:
        print(f"pipeline ratio {builds[0]} / {builds[1]}: {sum(medians[0].values()) / sum(medians[1].values()):.3f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["report"] and len(sys.argv) >= 5:
        report(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(__doc__)
