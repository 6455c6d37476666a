#!/usr/bin/env bash
# Sets a new machine up and runs the main job: a local RabbitMQ, two workers, and the sample
# phones submitted as jobs and graded end to end.
#
#   bash scripts/demo.sh
#
# Results go to run/results/ (one gradeline.result/1 JSON per phone), worker logs to run/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh release
bin=.build/release

echo
echo "== the pipeline config"
"$bin/gradeline-worker" check-config --pipeline config/pipeline.yaml

echo
echo "== a local RabbitMQ (run/rabbitmq-demo, port 5679)"
bash scripts/rabbitmq.sh start demo 5679
eval "$(bash scripts/rabbitmq.sh env demo 5679)"

echo
echo "== two workers (logs in run/logs/)"
mkdir -p run/logs run/results
workers=()
for n in 1 2; do
    # Each worker serves /metrics and /health/* on its own port: 9464 and 9465.
    GRADELINE_WORKER_ID="demo-worker-$n" GRADELINE_METRICS_PORT=$((9463 + n)) "$bin/gradeline-worker" run --config config/worker.yaml \
        > "run/logs/worker-$n.log" 2>&1 &
    workers+=($!)
done
trap 'kill -TERM "${workers[@]}" 2>/dev/null; wait "${workers[@]}" 2>/dev/null' EXIT

echo
echo "== submitting samples/*.png, one job per phone, and waiting for the results"
"$bin/gradeline-producer" submit samples/*.png --id-prefix "demo-$(date +%H%M%S)-" \
    --wait --format summary --save run/results

echo
echo "Full results with their traces: run/results/*.json"
echo "The broker keeps running for more jobs; stop it with: bash scripts/rabbitmq.sh stop demo 5679"
