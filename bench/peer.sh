#!/usr/bin/env bash
# The whole job against the stack a Python team would otherwise pick (issue 11, Gap 1): Celery on
# RabbitMQ with Pillow, numpy, scipy and onnxruntime (bench/peer/), and one Gradeline worker,
# on the same jobs, broker and cores, in alternating rounds.
#
#   bash bench/peer.sh [JOBS] [ROUNDS]                       # builds in release first
#   BIN=.build/release bash bench/peer.sh [JOBS] [ROUNDS]    # uses these binaries, no build
#
# It installs the peer's packages (bench/peer/requirements.txt, with python3 -m pip), checks
# that the peer grades the sample phones as Gradeline does (bench/peer/check.py), starts a
# private broker (run/rabbitmq-bench-peer, port PEER_BENCH_PORT or 5697), one
# `gradeline-worker run --concurrency 2` and one Celery worker (prefork, -c 2, acks_late,
# prefetch multiplier 1). Then ROUNDS times: a peer round (bench/peer/drive.py) and a
# Gradeline round (gradeline-producer bench --fleet-only), JOBS jobs each, made from the
# sample phones in turn and all published at once. For each side and round it prints jobs/s,
# latency p50 and p99 (publish to result, queueing included) and the CPU per job of the
# worker's process tree (supervisor or Celery main process, and its pool processes), and for
# the peer its CPU per stage (from the results' cpu_ms); then the medians over rounds and the
# ratios gradeline/peer. Logs and the raw figures go to run/logs/bench-peer/. Everything it
# started, broker included, is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${1:-60}"
rounds="${2:-3}"
port="${PEER_BENCH_PORT:-5697}"
out=run/logs/bench-peer
mkdir -p "$out"

if [[ -n "${BIN:-}" ]]; then
    bin="$BIN"
else
    swift build -c release 2>&1 | { grep -aEv "^\[[0-9]+/[0-9]+\]" || true; }
    bin=.build/release
fi
for executable in gradeline-worker gradeline-producer; do
    [[ -x "$bin/$executable" ]] || { echo "peer.sh: no $bin/$executable (build it, or set BIN)" >&2; exit 1; }
done

# The peer's stack, into the python3 on PATH (a no-op when it is there already).
python3 -m pip install --quiet --disable-pip-version-check -r bench/peer/requirements.txt 2>&1 \
    | grep -av "Running pip as the 'root' user" || true
python=$(python3 -c 'import sys; print(sys.executable)')
echo "== the peer against Gradeline's canaries and gradeline-worker grade (bench/peer/check.py)"
"$python" bench/peer/check.py --gradeline "$bin"

pids=()
cleanup() {
    local pid _
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 60); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [[ $alive == 0 ]] && break
        sleep 0.5
    done
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            # shellcheck disable=SC2046
            kill -KILL $(pgrep -P "$pid") "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    bash scripts/rabbitmq.sh stop bench-peer "$port" >/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash scripts/rabbitmq.sh start bench-peer "$port" >/dev/null
eval "$(bash scripts/rabbitmq.sh env bench-peer "$port")"
peer_url="amqp://guest:guest@127.0.0.1:$port//"

GRADELINE_WORKER_ID=bench-peer-gradeline GRADELINE_METRICS_PORT=0 "$bin/gradeline-worker" run --config config/worker.yaml \
    --concurrency 2 > "$out/gradeline-worker.log" 2>&1 &
gradeline=$!
pids+=("$gradeline")
# One thread per pool process for everything numeric, as onnxruntime's intra-op setting is.
PEER_BROKER_URL="$peer_url" PYTHONPATH=bench/peer OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    "$python" -m celery -A tasks worker --pool prefork --concurrency 2 --prefetch-multiplier 1 \
    --without-gossip --without-mingle --without-heartbeat --hostname peer@%h --loglevel INFO \
    > "$out/peer-worker.log" 2>&1 &
peer=$!
pids+=("$peer")

wait_for() {  # wait_for PID LOG PATTERN NAME
    for _ in $(seq 360); do
        grep -q "$3" "$2" 2>/dev/null && return
        kill -0 "$1" 2>/dev/null || { echo "peer.sh: the $4 worker exited; see $2" >&2; tail -20 "$2" >&2; exit 1; }
        sleep 0.5
    done
    echo "peer.sh: the $4 worker did not start in 180 s; see $2" >&2
    exit 1
}
wait_for "$gradeline" "$out/gradeline-worker.log" "worker started" gradeline
wait_for "$peer" "$out/peer-worker.log" " ready\." peer

# CPU ticks of a worker and its pool processes, which live for the whole run.
cpu_ticks() {
    local total=0 pid
    for pid in "$1" $(pgrep -P "$1"); do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo "$total"
}
peer_round() {  # peer_round JOBS FILE
    PEER_BROKER_URL="$peer_url" "$python" bench/peer/drive.py samples/*.png --jobs "$1" --rounds 1 > "$2"
}
gradeline_round() {  # gradeline_round JOBS FILE
    "$bin/gradeline-producer" bench samples/*.png --jobs "$1" --rounds 1 --fleet-only > "$2"
}

# A first round of 2 jobs each: both pool processes of each worker have run a job before timing.
peer_round 2 "$out/warm-peer.txt"
gradeline_round 2 "$out/warm-gradeline.txt"

tick=$(getconf CLK_TCK)
figures="$out/rounds.tsv"
printf "side\tround\tjobs_per_s\tp50_ms\tp99_ms\tcpu_ms_per_job\n" > "$figures"
echo "== $rounds rounds of $jobs jobs per side, alternating; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= rounds; round++)); do
    for side in peer gradeline; do
        pid=$peer
        [[ $side == gradeline ]] && pid=$gradeline
        before=$(cpu_ticks "$pid")
        "${side}_round" "$jobs" "$out/round-$round-$side.txt"
        after=$(cpu_ticks "$pid")
        # The line both print: "round 1: <who> R jobs/s, latency p50 A ms p99 B ms ..."; the CPU
        # covers the round's jobs and the one warm-up job each tool sends first.
        python3 - "$side" "$round" "$jobs" "$((after - before))" "$tick" "$out/round-$round-$side.txt" >> "$figures" <<'PY'
import re, sys
side, round_, jobs, ticks, tick, path = sys.argv[1:]
text = open(path).read()
match = re.search(r"round 1: \w+ ([\d.]+) jobs/s, latency p50 (\d+) ms p99 (\d+) ms", text)
if not match:
    sys.exit(f"peer.sh: no round line in {path}:\n{text}")
cpu = int(ticks) * 1000 / int(tick) / (int(jobs) + 1)
print(f"{side}\t{round_}\t{match[1]}\t{match[2]}\t{match[3]}\t{cpu:.1f}")
PY
        tail -1 "$figures" | awk -F'\t' '{printf "round %s: %-9s %6.2f jobs/s, latency p50 %5d ms p99 %5d ms, CPU per job %6.1f ms\n", $2, $1, $3, $4, $5, $6}'
        grep -h "CPU per stage" "$out/round-$round-$side.txt" || true
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$figures" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
median = lambda side, key: statistics.median(float(r[key]) for r in rows if r["side"] == side)
print("median over rounds:")
for side in ("peer", "gradeline"):
    print(f"  {side:<9} {median(side, 'jobs_per_s'):6.2f} jobs/s, latency p50 {median(side, 'p50_ms'):5.0f} ms "
          f"p99 {median(side, 'p99_ms'):5.0f} ms, CPU per job {median(side, 'cpu_ms_per_job'):6.1f} ms")
ratio = lambda key: median("gradeline", key) / median("peer", key)
print(f"gradeline/peer: jobs/s {ratio('jobs_per_s'):.2f}x (goal >= 1.5), p99 {ratio('p99_ms'):.2f}x (goal <= 1.0), "
      f"p50 {ratio('p50_ms'):.2f}x, CPU per job {ratio('cpu_ms_per_job'):.2f}x")
PY
