"""The Python side of bench/zoo.sh: checks outputs, prints the table of medians and ratios,
and the slowest steps of a profile. Needs numpy (the python3 on PATH).

    python3 bench/zoo/report.py check MODEL EXECUTOR.npy ONNXRUNTIME.npy
    python3 bench/zoo/report.py table OUT_DIR MANIFEST RUNTIME... [--slow RATIO]
    python3 bench/zoo/report.py top PROFILE.txt [COUNT]

`check` prints the largest absolute difference, relative to the largest absolute output, and
fails above 1e-4 of it (the executor's op tests hold 1e-5 on single ops). `table` reads
OUT_DIR/MODEL-bBATCH-tTHREADS-RUNTIME.txt (one run's milliseconds per line; other lines are
ignored) and prints, per model, batch and thread count, each runtime's median and the ratios
executor/onnxruntime and executor/OpenVINO; it writes the same rows to OUT_DIR/zoo.tsv, and
with --slow lists the rows whose executor/onnxruntime ratio is above RATIO as
`MODEL BATCH THREADS` in OUT_DIR/slow.txt. `top` prints the COUNT slowest steps of the last
run in a GRADELINE_INFERENCE_PROFILE=1 log.
"""
import collections
import json
import pathlib
import re
import statistics
import sys

import numpy as np


def check(model, executor, onnxruntime):
    a, b = np.load(executor), np.load(onnxruntime)
    if a.shape != b.shape:
        print(f"{model}: FAIL, executor shape {list(a.shape)} against onnxruntime {list(b.shape)}")
        return 1
    scale = max(float(np.abs(b).max()), 1e-12)
    worst = float(np.abs(a.astype(np.float64) - b).max())
    ok = worst <= 1e-4 * scale and np.isfinite(a).all()
    print(f"{model}: {'ok' if ok else 'FAIL'}, output {list(b.shape)}, max |onnxruntime| {scale:.3g}, "
          f"max abs difference {worst:.3g} ({worst / scale:.2g} of it)")
    return 0 if ok else 1


def times(path):
    values = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                values.append(float(line))
            except ValueError:
                pass
    return values


def table(out, manifest, runtimes, slow=None):
    out = pathlib.Path(out)
    models = json.loads(pathlib.Path(manifest).read_text())["models"]
    rows = collections.defaultdict(dict)
    pattern = re.compile(r"(.+)-b(\d+)-t(\d+)-(\w+)\.txt$")
    for path in sorted(out.glob("*-b*-t*-*.txt")):
        match = pattern.match(path.name)
        if match and match[4] in runtimes and (values := times(path)):
            rows[(match[1], int(match[2]), int(match[3]))][match[4]] = (statistics.median(values), len(values))
    names = {"executor": "executor", "onnxruntime": "onnxruntime", "openvino": "OpenVINO"}
    header = ["model", "batch", "threads", "GFLOP"] + [f"{names[r]} ms" for r in runtimes] + ["exec/ORT"]
    if "openvino" in runtimes:
        header.append("exec/OV")
    lines = [header]
    ratios = collections.defaultdict(list)
    slow_rows = []
    order = {name: index for index, name in enumerate(models)}
    for (model, batch, threads), medians in sorted(rows.items(), key=lambda r: (r[0][2], order.get(r[0][0], 99), r[0][1])):
        gflop = models.get(model, {}).get("gflop_batch1", 0) * batch
        line = [model, str(batch), str(threads), f"{gflop:.2f}"]
        line += [f"{medians[r][0]:.2f}" if r in medians else "-" for r in runtimes]
        for baseline in ("onnxruntime", "openvino"):
            if baseline not in runtimes:
                continue
            if "executor" in medians and baseline in medians:
                ratio = medians["executor"][0] / medians[baseline][0]
                line.append(f"{ratio:.2f}")
                if model != "shipped":  # the shipped model is timed beside the zoo, not in it
                    ratios[(baseline, threads)].append(ratio)
                if baseline == "onnxruntime" and slow is not None and ratio > slow:
                    slow_rows.append(f"{model} {batch} {threads}")
            else:
                line.append("-")
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for index, line in enumerate(lines):
        print("  ".join(cell.rjust(width) if index and i else cell.ljust(width) for i, (cell, width) in enumerate(zip(line, widths))))
    counts = {runtime: sorted({n for medians in rows.values() if runtime in medians for n in [medians[runtime][1]]}) for runtime in runtimes}
    print(f"(medians of {', '.join(f'{names[r]} {c}' for r, c in counts.items())} runs per row)")
    for (baseline, threads), values in sorted(ratios.items()):
        print(f"executor/{names[baseline]} at {threads} thread(s): median {statistics.median(values):.2f}, "
              f"max {max(values):.2f}, {sum(v <= 1.0 for v in values)} of {len(values)} at 1.0 or less, "
              f"{sum(v > 1.2 for v in values)} above 1.2")
    (out / "zoo.tsv").write_text("\n".join("\t".join(line) for line in lines) + "\n")
    if slow is not None:
        (out / "slow.txt").write_text("".join(f"{row}\n" for row in slow_rows))


def top(path, count=6):
    blocks = pathlib.Path(path).read_text().split("inference profile")
    if len(blocks) < 2:
        print("  (no profile)")
        return
    steps = []
    for line in blocks[-1].splitlines()[1:]:
        value, _, what = line.partition(" seconds ")
        try:
            steps.append((float(value), what))
        except ValueError:
            continue
    total = sum(seconds for seconds, _ in steps)
    print(f"  {len(steps)} steps, {total * 1000:.1f} ms in all; the slowest:")
    for seconds, what in sorted(steps, reverse=True)[:count]:
        print(f"  {seconds * 1000:8.2f} ms  {what}")


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "check":
        sys.exit(check(*args))
    elif command == "table":
        slow = None
        if "--slow" in args:
            index = args.index("--slow")
            slow = float(args[index + 1])
            args = args[:index] + args[index + 2:]
        table(args[0], args[1], args[2:], slow)
    elif command == "top":
        top(args[0], int(args[1]) if len(args) > 1 else 6)
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
