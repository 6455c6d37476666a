#!/usr/bin/env bash
# Fleet throughput: jobs/s and p50/p99 latency through RabbitMQ and one worker, against the
# same jobs through the same JobHandler in a plain loop with no broker.
#
#   bash bench/fleet.sh [JOBS] [ROUNDS] [CONCURRENCY]
#
# Builds in release, starts a private broker (run/rabbitmq-bench, port 5699) and one worker
# with CONCURRENCY jobs at once, then runs gradeline-producer bench on the sample phones.
# It also prints the time from a pipeline's end (its child process answering) to the ack,
# from the worker's `ack_ms` log field: issue 9 asks for a median of at most 20 ms.
# BUILD=debug times the debug build instead (quicker to get, not for speed claims).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${1:-60}"
rounds="${2:-3}"
concurrency="${3:-2}"

build="${BUILD:-release}"
swift build -c "$build" 2>&1 | { grep -aEv "^\[[0-9]+/[0-9]+\]" || true; }
bash scripts/rabbitmq.sh start bench 5699 >/dev/null
eval "$(bash scripts/rabbitmq.sh env bench 5699)"
mkdir -p run/logs
GRADELINE_WORKER_ID=bench-worker GRADELINE_METRICS_PORT=0 .build/$build/gradeline-worker run --config config/worker.yaml \
    --concurrency "$concurrency" > run/logs/bench-worker.log 2>&1 &
worker=$!
trap 'kill -TERM $worker 2>/dev/null; wait $worker 2>/dev/null; bash scripts/rabbitmq.sh stop bench 5699 >/dev/null' EXIT
sleep 3  # the pipeline processes load the model
# The supervisor and its pipeline processes (which live for the whole run).
cpu_ticks() {
    local total=0 pid
    for pid in $worker $(pgrep -P "$worker"); do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo "$total"
}
before=$(cpu_ticks)
.build/$build/gradeline-producer bench samples/*.png --jobs "$jobs" --rounds "$rounds" --concurrency "$concurrency" \
    | tee run/logs/bench-fleet.txt
after=$(cpu_ticks)
# CPU time is steadier than wall time on a shared 2-core machine, where the broker and the
# producer take CPU from the worker that a real deployment would give them elsewhere.
python3 - "$before" "$after" "$(getconf CLK_TCK)" run/logs/bench-fleet.txt <<'PY'
import re, sys
before, after, tick, report = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), open(sys.argv[4]).read()
jobs = int(re.search(r"fleet jobs: (\d+)", report).group(1))
loop = float(re.search(r"plain loop CPU per job: ([\d.]+)", report).group(1))
worker = (after - before) * 1000 / tick / jobs
print(f"worker CPU per job: {worker:.2f} ms; plain loop CPU per job: {loop:.2f} ms; "
      f"worker process overhead: {(worker / loop - 1) * 100:.1f}% (goal <= 5%)")
PY
python3 - run/logs/bench-worker.log <<'PY'
import re, statistics, sys
values = sorted(float(v) for v in re.findall(r"ack_ms=([\d.]+)", open(sys.argv[1]).read()))
if values:
    p = lambda q: values[min(len(values) - 1, int(q * len(values)))]
    print(f"pipeline end to ack: p50 {statistics.median(values):.1f} ms, p90 {p(0.9):.1f} ms, max {values[-1]:.1f} ms "
          f"over {len(values)} jobs (goal: p50 <= 20 ms)")
PY
