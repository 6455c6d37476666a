#!/usr/bin/env bash
# Sets a new machine up and runs the main job: the sample phones graded end to end.
#
#   bash scripts/demo.sh
#
# Results go to run/results/ as gradeline.result/1 JSON, one file per phone.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh release
bin=.build/release

echo
echo "== the pipeline config"
"$bin/gradeline-worker" check-config --pipeline config/pipeline.yaml

echo
echo "== grading the sample phones (samples/*.png), one job per phone with its front and back"
mkdir -p run/results
for front in samples/*-front.png; do
    phone=$(basename "$front" -front.png)
    "$bin/gradeline-worker" grade --job-id "$phone" \
        --side "front=$front" --side "back=samples/$phone-back.png" --format pretty \
        > "run/results/$phone.json" || true
    "$bin/gradeline-worker" grade --job-id "$phone" \
        --side "front=$front" --side "back=samples/$phone-back.png" --format summary || true
done
echo
echo "Full results with their traces: run/results/*.json"
