#!/usr/bin/env bash
# PNG decode: Gradeline's PNG.decode against libpng called directly from C, on the same files.
#
#   bash bench/png_decode.sh [ROUNDS] [ITERATIONS]
#
# Builds both in release, makes photo-like test files (the samples, plus a 12-megapixel
# kiosk photo rendered by the experiment's generator), then alternates the two programs for
# ROUNDS rounds of ITERATIONS decodes each. Prints the median ms per megapixel of each, and
# their ratio (Gradeline / C). The goal is a ratio of 1.10 or less.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
iterations="${2:-5}"
out=bench/out
mkdir -p "$out"

swift build -c release --product gradeline-bench 2>&1 | { grep -aEv "^\[[0-9]+/[0-9]+\]" || true; }
gcc -O2 -o "$out/baseline_decode" bench/png/baseline_decode.c $(pkg-config --cflags --libs libpng)

if [[ ! -f "$out/kiosk-12mp.png" ]]; then
    python3 - <<'PY'
import sys
import numpy as np
sys.path.insert(0, "experiment")
from gradeline_experiment import pngio, synth
image, _ = synth.render(np.random.default_rng(1), synth.Spec(side="front", cracks=1), height=4000, width=3000)
pngio.write("bench/out/kiosk-12mp.png", image)
PY
fi
files=(samples/phone-01-front.png samples/phone-02-back.png "$out/kiosk-12mp.png")

: > "$out/png_decode.c.txt"
: > "$out/png_decode.swift.txt"
for ((round = 0; round < rounds; round++)); do
    "$out/baseline_decode" "$iterations" "${files[@]}" >> "$out/png_decode.c.txt"
    .build/release/gradeline-bench png-decode "$iterations" "${files[@]}" >> "$out/png_decode.swift.txt"
done

python3 - "$out/png_decode.c.txt" "$out/png_decode.swift.txt" <<'PY'
import statistics
import sys

def load(path):
    per_file = {}
    for line in open(path):
        parts = line.split()
        name, times, mp = parts[0], [float(t) for t in parts[2:-1]], float(parts[-1][3:])
        per_file.setdefault(name, (mp, []))[1].extend(times)
    return per_file

c, swift = load(sys.argv[1]), load(sys.argv[2])
print(f"{'file':34} {'MP':>6} {'C ms/MP':>9} {'Swift ms/MP':>12} {'ratio':>6}")
ratios = []
for name, (mp, c_times) in c.items():
    c_med = statistics.median(c_times) / mp
    s_med = statistics.median(swift[name][1]) / mp
    ratios.append(s_med / c_med)
    print(f"{name:34} {mp:6.2f} {c_med:9.3f} {s_med:12.3f} {s_med / c_med:6.3f}")
print(f"median ratio (Gradeline / C): {statistics.median(ratios):.3f}  (goal <= 1.10; medians of "
      f"{len(c_times)} decodes per file and side)")
PY
