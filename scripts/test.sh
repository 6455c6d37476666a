#!/usr/bin/env bash
# Sets a new machine up and runs every test: the Swift suites (the fleet's against a private
# RabbitMQ node started here), the evaluation gate on a few golden cases, the contract tests,
# then a minute of each fuzz target.
#
#   bash scripts/test.sh
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh debug || exit 1

# A private broker for the fleet tests, on its own port and folder; stopped on exit.
bash scripts/rabbitmq.sh start test 5689 5690 || exit 1
trap 'bash scripts/rabbitmq.sh stop test 5689 >/dev/null 2>&1' EXIT
eval "$(bash scripts/rabbitmq.sh env test 5689 5690)"
export GRADELINE_TEST_AMQP_URL="$GRADELINE_AMQP_URL" GRADELINE_TEST_AMQPS_URL="$GRADELINE_AMQPS_URL"

status=0
echo "== swift test"
swift test 2>&1 | grep -Ev "^\[[0-9]+/[0-9]+\]|^(◇|✔) (Test|Suite) \"|^(◇|✔) Test case " ; test "${PIPESTATUS[0]}" -eq 0 || status=1

echo "== evaluation gate (the golden set's gate cases against models/evaluation.json)"
.build/debug/gradeline-worker evaluate --golden experiment/evalset/golden --case gate \
    --baseline models/evaluation.json >/dev/null || status=1

echo "== contract tests (pytest)"
GRADELINE_BIN=.build/debug python3 -m pytest -q Tests/contracts || status=1

echo "== fuzz (PNG decode, JPEG decode and job parsing, 60 s each)"
bash scripts/fuzz.sh 60 || status=1

exit $status
