#!/usr/bin/env bash
# Measures what one worker pod needs, for the requests and limits in deploy/k8s/worker.yaml:
# the resident memory of a worker (the supervisor and its pipeline processes together) while it
# grades the sample phones, and its CPU per job. docs/operations.md ("Deploying") has the figures.
#
#   BIN=.build/release bash deploy/k8s/measure.sh [ROUNDS] [CONCURRENCY]
#
# Defaults: 10 rounds of `gradeline-producer submit samples/*.png --wait` (3 two-sided jobs each),
# all published at once so that the worker is saturated, through one worker of concurrency 2, against a private broker
# (run/rabbitmq-deploymeasure, port 5696, stopped at the end). Release binaries already built;
# it builds nothing. Memory is sampled every 0.2 s (VmRSS summed over the processes, and PSS,
# which splits pages the processes share); VmHWM is each process's own peak. PHOTOS="dir/*.png"
# grades other photos (<phone>-<side>.png or .jpg, as submit expects); PHOTOS=12mp makes and
# grades 12-megapixel JPEGs of the samples (2448x4896, upscaled with a little noise so that the
# blur check still passes; Pillow and numpy, as experiment/ uses) in run/photos-12mp.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${BIN:-.build/release}"
rounds="${1:-10}"
concurrency="${2:-2}"
photos="${PHOTOS:-samples/*.png}"
if [[ "$photos" == 12mp ]]; then
    photos="run/photos-12mp/*.jpg"
    mkdir -p run/photos-12mp
    python3 - <<'PY'
import glob, os
import numpy as np
from PIL import Image
rng = np.random.default_rng(12)
for path in sorted(glob.glob("samples/*.png")):
    image = Image.open(path).convert("RGB").resize((2448, 4896), Image.BICUBIC)
    pixels = np.asarray(image).astype(np.float32) + rng.normal(0, 4, (4896, 2448, 3))
    out = "run/photos-12mp/" + os.path.basename(path).replace(".png", ".jpg")
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, quality=90)
PY
fi
port=5696

bash scripts/rabbitmq.sh start deploymeasure "$port" >/dev/null
eval "$(bash scripts/rabbitmq.sh env deploymeasure "$port")"
mkdir -p run/logs
log=run/logs/deploymeasure-worker.log
samples=run/logs/deploymeasure-rss.tsv
GRADELINE_METRICS_PORT=0 GRADELINE_CONCURRENCY="$concurrency" GRADELINE_WORKER_ID=deploymeasure \
    "$bin/gradeline-worker" run --config config/worker.yaml > "$log" 2>&1 &
worker=$!
sampler=
cleanup() {
    [[ -n "$sampler" ]] && kill "$sampler" 2>/dev/null
    kill -TERM "$worker" 2>/dev/null && wait "$worker" 2>/dev/null
    bash scripts/rabbitmq.sh stop deploymeasure "$port" >/dev/null
}
trap cleanup EXIT

page_kib=$(($(getconf PAGESIZE) / 1024))
tree() { echo "$worker" $(pgrep -P "$worker" || true); }
# kB of a field summed over the worker's processes: VmRSS or VmHWM from status, Pss from smaps_rollup.
field() {
    local name="$1" file="$2" total=0 pid value
    for pid in $(tree); do
        value=$(awk -v k="$name:" '$1 == k {print $2}' "/proc/$pid/$file" 2>/dev/null || true)
        total=$((total + ${value:-0}))
    done
    echo "$total"
}
# CPU seconds (user + system) of one process, its reaped children included.
ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat" 2>/dev/null || echo 0; }
seconds() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}'; }
# The same summed over the worker's processes.
cpu() {
    local total=0 pid
    for pid in $(tree); do total=$((total + $(ticks "$pid"))); done
    seconds "$total"
}
mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }

for _ in $(seq 1 600); do
    grep -q "worker started" "$log" && break
    kill -0 "$worker" 2>/dev/null || { echo "measure: the worker exited; see $log" >&2; exit 1; }
    sleep 0.2
done
sleep 2  # the pipeline processes load the model
echo "measure: worker ready, concurrency $concurrency, $(($(tree | wc -w) - 1)) pipeline processes"
echo "measure: idle: RSS $(mib "$(field VmRSS status)") MiB, PSS $(mib "$(field Pss smaps_rollup)") MiB"
cpu_start=$(cpu)
declare -A ticks_start
for pid in $(tree); do ticks_start[$pid]=$(ticks "$pid"); done

(
    printf "time\trss_kib\tpss_kib\n"
    while true; do
        printf "%s\t%s\t%s\n" "$(date +%s.%N)" "$(field VmRSS status)" "$(field Pss smaps_rollup)"
        sleep 0.2
    done
) > "$samples" &
sampler=$!

# Every round is published at once, so the queue stays full and the worker saturated.
started=$(date +%s.%N)
producers=()
for round in $(seq 1 "$rounds"); do
    "$bin/gradeline-producer" submit $photos --wait --timeout 600 > /dev/null 2>> run/logs/deploymeasure-producer.log &
    producers+=($!)
done
for pid in "${producers[@]}"; do wait "$pid" || { echo "measure: a producer failed; see run/logs/deploymeasure-producer.log" >&2; exit 1; }; done
elapsed=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')
cpu_end=$(cpu)
kill "$sampler"; sampler=

jobs=$((rounds * $(ls $photos | grep -c -- '-front\.')))
answered=$(grep -c "job answered" "$log" || true)
echo "measure: $jobs jobs in $elapsed s, $answered answered"
awk -F'\t' 'NR > 1 {if ($2 > r) r = $2; if ($3 > p) p = $3} END {
    printf "measure: peak while grading: RSS %.0f MiB, PSS %.0f MiB (sampled every 0.2 s)\n", r / 1024, p / 1024}' "$samples"
for pid in $(tree); do
    role=pipeline; [[ "$pid" == "$worker" ]] && role=supervisor
    echo "measure:   $role $pid: VmHWM $(mib "$(awk '$1 == "VmHWM:" {print $2}' "/proc/$pid/status")") MiB," \
        "CPU while grading $(seconds $(($(ticks "$pid") - ${ticks_start[$pid]:-0}))) s"
done
echo "measure: sum of VmHWM: $(mib "$(field VmHWM status)") MiB"
awk -v a="$cpu_start" -v b="$cpu_end" -v n="$jobs" -v s="$elapsed" 'BEGIN {
    printf "measure: CPU %.2f s for %d jobs: %.0f ms per job, %.2f cores busy on average\n", b - a, n, 1000 * (b - a) / n, (b - a) / s}'
