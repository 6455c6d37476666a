#!/usr/bin/env bash
# Soak: JOBS jobs through two workers, printing each worker's resident memory (the supervisor
# and its pipeline processes) after a warm-up and at the end, so that growth per job shows.
#
#   bash bench/soak.sh [JOBS] [PIPELINE]
#
# Defaults: 10000 jobs of bench/soak-pipeline.yaml (decode, checks, preprocessing; no model,
# so that the fleet's own memory is what is measured). Builds in release, starts a private
# broker (run/rabbitmq-soak, port 5698) and two workers of concurrency 1, then sends the
# sample phones through `gradeline-producer bench --fleet-only` in rounds of 250 jobs (each
# round's bodies are held in the producer's memory). Not in the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${1:-10000}"
pipeline="${2:-bench/soak-pipeline.yaml}"

swift build -c release 2>&1 | { grep -aEv "^\[[0-9]+/[0-9]+\]" || true; }
.build/release/gradeline-worker check-config --pipeline "$pipeline" >/dev/null
bash scripts/rabbitmq.sh start soak 5698 >/dev/null
eval "$(bash scripts/rabbitmq.sh env soak 5698)"
mkdir -p run/logs
pids=()
for name in soak-1 soak-2; do
    GRADELINE_WORKER_ID=$name GRADELINE_LOG_LEVEL=warning GRADELINE_METRICS_PORT=0 .build/release/gradeline-worker run \
        --config config/worker.yaml --pipeline "$pipeline" --concurrency 1 > "run/logs/$name.log" 2>&1 &
    pids+=($!)
done
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; bash scripts/rabbitmq.sh stop soak 5698 >/dev/null' EXIT
sleep 3

# Resident memory of a worker: its supervisor plus its pipeline processes, in MiB.
rss() {
    local total=0 pid
    for pid in "$1" $(pgrep -P "$1"); do
        total=$((total + $(awk '{print $2}' "/proc/$pid/statm")))
    done
    echo $((total * $(getconf PAGESIZE) / 1048576))
}
report() {
    local label="$1" index=0
    for pid in "${pids[@]}"; do
        index=$((index + 1))
        echo "soak: worker soak-$index $label: $(rss "$pid") MiB (supervisor $(( $(awk '{print $2}' /proc/$pid/statm) * $(getconf PAGESIZE) / 1048576 )) MiB)"
    done
}

bench() {
    .build/release/gradeline-producer bench samples/*.png --jobs "$1" --rounds "$2" --concurrency 2 \
        --pipeline "$pipeline" --fleet-only
}
bench 200 1 >/dev/null  # warm-up: first touches, caches, connections
report "after 200 warm-up jobs"
started=$(date +%s)
bench 250 $((jobs / 250)) | grep -E "^median"
report "after $jobs more jobs ($(( $(date +%s) - started )) s)"
