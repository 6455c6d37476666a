#!/usr/bin/env bash
# The Swift executor against onnxruntime: same model, same input, 1 and 2 threads.
#
#   bash bench/inference.sh [MODEL] [ROUNDS] [RUNS]
#
# Defaults to models/damage-seg.onnx on a batch of two preprocessed sample photos. The two
# runtimes alternate for ROUNDS rounds of RUNS timed runs each (after a warm-up run); it prints
# the median milliseconds, GFLOP/s (2 x the multiply-adds of the convolutions done directly;
# Winograd does fewer, so the figure is effective throughput) and the ratio Swift / onnxruntime.
# The goal is a ratio of 1.0 or less.
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-models/damage-seg.onnx}"
rounds="${2:-3}"
runs="${3:-5}"
out=bench/out
mkdir -p "$out"
swift build -c release --product gradeline-bench 2>&1 | { grep -aEv "^\[[0-9]+/[0-9]+\]" || true; }
python3 -c "import onnxruntime, onnx" 2>/dev/null || python3 -m pip install --quiet onnxruntime onnx
if [[ ! -f "$out/inference-input.npy" ]]; then
    python3 - <<'PY'
import sys
import numpy as np
sys.path.insert(0, "experiment")
from gradeline_experiment import pngio, preprocess
images = [pngio.decode(open(f"samples/{name}.png", "rb").read()) for name in ("phone-02-front", "phone-02-back")]
batch = np.stack([preprocess.to_model_input(preprocess.resize_area(im, 256, 512)) for im in images])
np.save("bench/out/inference-input.npy", batch)
PY
fi
for threads in 1 2; do
    : > "$out/inference-swift-$threads.txt"
    : > "$out/inference-ort-$threads.txt"
    for ((round = 0; round < rounds; round++)); do
        .build/release/gradeline-bench inference --model "$model" --input "$out/inference-input.npy" \
            --threads "$threads" --runs "$runs" >> "$out/inference-swift-$threads.txt"
        python3 bench/inference_ort.py "$model" "$out/inference-input.npy" "$threads" "$runs" >> "$out/inference-ort-$threads.txt"
    done
done
python3 - "$out" <<'PY'
import statistics
import sys
out = sys.argv[1]
for threads in (1, 2):
    swift = [float(l) for l in open(f"{out}/inference-swift-{threads}.txt")]
    ort_lines = open(f"{out}/inference-ort-{threads}.txt").read().split()
    flops = next(int(l) for l in open(f"{out}/inference-ort-{threads}.txt") if l.startswith("flops")
                 for l in [l.split()[1]])
    ort = [float(l) for l in open(f"{out}/inference-ort-{threads}.txt") if not l.startswith("flops")]
    s, o = statistics.median(swift), statistics.median(ort)
    print(f"{threads} thread(s): Swift {s:.1f} ms ({flops / s / 1e6:.1f} GFLOP/s), onnxruntime {o:.1f} ms "
          f"({flops / o / 1e6:.1f} GFLOP/s), ratio Swift/onnxruntime {s / o:.2f} "
          f"(medians of {len(swift)} runs; {flops / 1e9:.2f} GFLOP per batch)")
PY
