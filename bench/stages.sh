#!/usr/bin/env bash
# Where a job's time goes: each pipeline step's milliseconds within one two-sided job, for one
# build of the worker or two side by side.
#
#   bash bench/stages.sh [ROUNDS] [JOBS]
#   BASELINE=/path/to/other/release bash bench/stages.sh     # old and new binaries alternating
#
# Grades JOBS copies (10) of phone-02's job (samples/phone-02-front.png and -back.png) in one
# `gradeline-worker grade` process per round, with the config in PIPELINE (config/pipeline.yaml).
# The first job of each process is left out (the model's first run). Per step it keeps the
# fastest of the jobs, which is least disturbed by a noisy machine, then takes the median over
# ROUNDS (4) rounds, binaries alternating. It prints ms per step, the pipeline's total, the
# model (`segment`) and the share of the pipeline outside the model (issue 11's goal: 25%).
# BIN is the build to measure (.build/release, built here when it is the default); a BASELINE
# build must understand the config's params.
set -euo pipefail
# BIN, BASELINE and PIPELINE may be relative to where the script is called from.
absolute() { [ -z "$1" ] || (cd "$(dirname "$1")" && echo "$PWD/$(basename "$1")"); }
BIN="$(absolute "${BIN:-}")"
BASELINE="$(absolute "${BASELINE:-}")"
pipeline="$(absolute "${PIPELINE:-}")"
cd "$(dirname "$0")/.."
rounds="${1:-4}"
jobs="${2:-10}"
pipeline="${pipeline:-$PWD/config/pipeline.yaml}"
if [ "$jobs" -lt 2 ] || [ "$rounds" -lt 1 ]; then
    echo "bench/stages.sh: give at least 1 round and 2 jobs (the first job of each process is left out)" >&2
    exit 2
fi
if [ -z "$BIN" ]; then
    swift build -c release 2>&1 | { grep -aEv "^\[[0-9]+/[0-9]+\]" || true; }
    BIN=.build/release
fi
out=run/bench-stages
mkdir -p "$out"
"$BIN/gradeline-producer" job --side front=samples/phone-02-front.png --side back=samples/phone-02-back.png \
    --job-id bench-stages > "$out/job.json"
args=()
for _ in $(seq "$jobs"); do args+=(--job "$out/job.json"); done
builds=("$BIN")
if [ -n "$BASELINE" ]; then builds+=("$BASELINE"); fi
for round in $(seq "$rounds"); do
    for index in "${!builds[@]}"; do
        if ! "${builds[$index]}/gradeline-worker" grade "${args[@]}" --pipeline "$pipeline" --format json \
            > "$out/round-$round-build-$index.json"; then
            echo "bench/stages.sh: ${builds[$index]}/gradeline-worker grade failed; its results:" >&2
            head -c 2000 "$out/round-$round-build-$index.json" >&2
            exit 1
        fi
    done
done
python3 bench/stages/stages.py report "$out" "$rounds" "${builds[@]}"
