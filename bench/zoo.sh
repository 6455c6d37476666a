#!/usr/bin/env bash
# The model zoo (bench/zoo/, issue 11 gap 2): each model in the executor, onnxruntime and
# OpenVINO, side by side.
#
#   bash bench/zoo.sh [ROUNDS] [RUNS] [MODEL...]          # builds gradeline-bench in release first
#   BIN=.build/release bash bench/zoo.sh [ROUNDS] [RUNS]  # uses that gradeline-bench, no build
#   bash bench/zoo.sh 3 5 shipped                         # the shipped model against the same runtimes
#
# It makes the zoo when bench/zoo/out/ lacks it or bench/zoo/*.py changed since
# (bench/zoo/export.py, with Debian's /usr/bin/python3 and its python3-torch and python3-onnx,
# installed with apt-get when missing), and installs onnxruntime, onnx and openvino into the
# python3 on PATH when they are missing. If OpenVINO cannot be installed or loaded, it says
# why and leaves that column out (OPENVINO=0 leaves it out on purpose).
#
# Then, per model: a check that the executor's output on the batch-2 input matches
# onnxruntime's (a model the executor cannot load is reported with its error and left out),
# and the timing: for each thread count (THREADS, default "1 2") and batch (BATCHES, default
# "1 2"), ROUNDS rounds (3) in which the runtimes take turns on each model, the first one
# changing every round, each in a process of its own with a warm-up run and RUNS (5) timed
# runs (bench/inference_ort.py is the onnxruntime and OpenVINO side). It prints, per model,
# batch and thread count, each runtime's median milliseconds and the ratios
# executor/onnxruntime and executor/OpenVINO, then, for every row slower than PROFILE_ABOVE
# (3) times onnxruntime, the executor's slowest steps with their layouts and kernels
# (GRADELINE_INFERENCE_PROFILE=1; PROFILE_ABOVE=0 skips this). Raw times, outputs and the
# table (zoo.tsv) go to bench/out/zoo/. Figures taken while anything else uses the CPU are
# not the real ones.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
runs="${2:-5}"
shift $(($# < 2 ? $# : 2))
zoo=bench/zoo/out
out=bench/out/zoo
mkdir -p "$out"
rm -f "$out"/*.txt "$out"/*.npy "$out"/*.log

if [[ -n "${BIN:-}" ]]; then
    bin="$BIN"
else
    swift build -c release --product gradeline-bench 2>&1 | { grep -aEv "^\[[0-9]+/[0-9]+\]" || true; }
    bin=.build/release
fi
[[ -x "$bin/gradeline-bench" ]] || { echo "zoo.sh: no $bin/gradeline-bench (build it, or set BIN)" >&2; exit 1; }

# The zoo, remade when its sources changed (the manifest records their digest).
digest=$(cat bench/zoo/export.py bench/zoo/models.py | sha256sum | cut -d' ' -f1)
recorded=$(python3 -c "import json; print(json.load(open('$zoo/manifest.json'))['source_sha256'])" 2>/dev/null || true)
if [[ "$recorded" != "$digest" ]]; then
    if ! /usr/bin/python3 -c "import torch, onnx" 2>/dev/null; then
        echo "zoo.sh: installing python3-torch and python3-onnx"
        sudo_cmd=()
        [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3-torch python3-onnx >/dev/null
    fi
    echo "== making the zoo (bench/zoo/export.py)"
    /usr/bin/python3 bench/zoo/export.py --out "$zoo" 2>&1 | grep -av -i "warn\|_C._jit_pass" || true
    test -f "$zoo/manifest.json"
fi

# The baselines, in the python3 on PATH.
python3 -c "import onnxruntime, onnx, numpy" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check onnxruntime onnx numpy 2>&1 | grep -av "as the 'root' user" || true
runtimes=(executor onnxruntime)
if [[ "${OPENVINO:-1}" != 0 ]]; then
    if ! python3 -c "import openvino" 2>/dev/null; then
        python3 -m pip install --quiet --disable-pip-version-check openvino > "$out/openvino-install.log" 2>&1 || true
    fi
    if why=$(python3 -c "import openvino as ov; ov.Core().get_versions('CPU')" 2>&1); then
        runtimes+=(openvino)
        echo "OpenVINO $(python3 -c 'import openvino as ov; print(ov.__version__)')"
    else
        echo "zoo.sh: no OpenVINO column: $(tail -1 <<< "$why") (pip's log: $out/openvino-install.log)"
    fi
fi

if (($#)); then
    models=("$@")
else
    mapfile -t models < <(python3 -c "import json; print('\n'.join(json.load(open('$zoo/manifest.json'))['models']))")
fi
# `shipped` is the shipped damage model (models/damage-seg.onnx), timed beside the zoo (issue 11
# asks for it at or below OpenVINO) but left out of the zoo's summary lines.
for model in "${models[@]}"; do
    [[ $model == shipped ]] && ln -sf "$(realpath models/damage-seg.onnx)" "$zoo/shipped.onnx"
done

echo "== outputs: the executor against onnxruntime, batch 2, 1 thread"
runnable=()
failed=0
for model in "${models[@]}"; do
    if ! "$bin/gradeline-bench" inference --model "$zoo/$model.onnx" --input "$zoo/input-b2.npy" --runs 0 \
            --output "$out/$model.executor.npy" 2> "$out/$model.error.log" > /dev/null; then
        echo "$model: the executor cannot run it: $(tail -1 "$out/$model.error.log")"
        failed=1
        continue
    fi
    python3 bench/inference_ort.py "$zoo/$model.onnx" "$zoo/input-b2.npy" 1 0 --no-flops --output "$out/$model.onnxruntime.npy"
    if python3 bench/zoo/report.py check "$model" "$out/$model.executor.npy" "$out/$model.onnxruntime.npy"; then
        runnable+=("$model")
    else
        failed=1
    fi
done

# One timed process: RUNTIME on MODEL at BATCH and THREADS, appended to its file.
time_one() {
    local runtime=$1 model=$2 batch=$3 threads=$4
    local file="$out/$model-b$batch-t$threads-$runtime.txt"
    if [[ $runtime == executor ]]; then
        "$bin/gradeline-bench" inference --model "$zoo/$model.onnx" --input "$zoo/input-b$batch.npy" \
            --threads "$threads" --runs "$runs" >> "$file"
    else
        python3 bench/inference_ort.py "$zoo/$model.onnx" "$zoo/input-b$batch.npy" "$threads" "$runs" \
            --runtime "$runtime" --no-flops >> "$file"
    fi || echo "zoo.sh: $runtime failed on $model (batch $batch, $threads threads)" >&2
}

echo "== timing (load average before: $(cut -d' ' -f1-3 /proc/loadavg)): ${rounds} rounds of ${runs} runs per model, batch and thread count (runtimes: ${runtimes[*]})"
for threads in ${THREADS:-1 2}; do
    for batch in ${BATCHES:-1 2}; do
        for ((round = 0; round < rounds; round++)); do
            for model in "${runnable[@]}"; do
                for ((turn = 0; turn < ${#runtimes[@]}; turn++)); do
                    time_one "${runtimes[(round + turn) % ${#runtimes[@]}]}" "$model" "$batch" "$threads"
                done
            done
        done
    done
done

echo "== medians and ratios (load average after: $(cut -d' ' -f1-3 /proc/loadavg); anything else on the CPU makes them unreal)"
python3 bench/zoo/report.py table "$out" "$zoo/manifest.json" "${runtimes[@]}" --slow "${PROFILE_ABOVE:-3}"

if [[ "${PROFILE_ABOVE:-3}" != 0 && -s "$out/slow.txt" ]]; then
    echo "== the executor's slowest steps where it is more than ${PROFILE_ABOVE:-3}x onnxruntime (one profiled run)"
    while read -r model batch threads; do
        echo "$model, batch $batch, $threads thread(s):"
        GRADELINE_INFERENCE_PROFILE=1 "$bin/gradeline-bench" inference --model "$zoo/$model.onnx" \
            --input "$zoo/input-b$batch.npy" --threads "$threads" --runs 1 > /dev/null 2> "$out/$model-b$batch-t$threads.profile.log"
        python3 bench/zoo/report.py top "$out/$model-b$batch-t$threads.profile.log"
    done < "$out/slow.txt"
fi
exit "$failed"
