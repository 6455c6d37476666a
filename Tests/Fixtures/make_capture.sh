#!/usr/bin/env bash
# Re-records Tests/Fixtures/capture-small: two small phones (front and back) submitted to a
# worker running Tests/Fixtures/capture-small/pipeline.yaml, captured with their results.
# Run it when the pipeline's outputs change on purpose; the replay test then checks against it.
#
#   bash Tests/Fixtures/make_capture.sh      (needs a built tree and RabbitMQ installed)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=Tests/Fixtures/capture-small
photos=$(mktemp -d)
python3 - "$photos" <<'PY'
import sys
import numpy as np
sys.path.insert(0, "experiment")
from gradeline_experiment import pngio, synth
rng = np.random.default_rng(7)
for phone, plan in [("fixture-a", {"front": (1, 0, 0), "back": (0, 1, 0)}),
                    ("fixture-b", {"front": (0, 0, 0), "back": (0, 0, 1)})]:
    for side, (cracks, scratches, chips) in plan.items():
        image, _ = synth.render(rng, synth.Spec(side=side, cracks=cracks, scratches=scratches, chips=chips),
                                height=480, width=240)
        pngio.write(f"{sys.argv[1]}/{phone}-{side}.png", image)
PY
bash scripts/rabbitmq.sh start fixture 5699 >/dev/null
eval "$(bash scripts/rabbitmq.sh env fixture 5699)"
mkdir -p "$out"
rm -rf "$out/jobs" "$out/results" "$out/manifest.json"
cp config/pipeline.yaml "$out/pipeline.yaml"
GRADELINE_METRICS_PORT=0 .build/debug/gradeline-worker run --pipeline "$out/pipeline.yaml" 2>/dev/null &
worker=$!
.build/debug/gradeline-producer capture --out "$out" --count 2 --timeout 60 &
capture=$!
sleep 2
.build/debug/gradeline-producer submit "$photos"/*.png --id-prefix "" --kiosk-id kiosk-fixture
wait "$capture"
kill -TERM "$worker"
wait "$worker" || true
bash scripts/rabbitmq.sh stop fixture 5699 >/dev/null
rm -rf "$photos" run/rabbitmq-fixture
echo "recorded $out"
