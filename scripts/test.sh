#!/usr/bin/env bash
# Sets a new machine up and runs every test: the Swift suites (the fleet's against a private
# RabbitMQ node started here), the evaluation gate on a few golden cases, the contract tests,
# then a minute of each fuzz target.
#
#   bash scripts/test.sh
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh debug || exit 1

# A private broker for the fleet tests, on its own port and folder, and a three-node cluster
# for the node-loss test (ports 5684 to 5686); all stopped on exit.
bash scripts/rabbitmq.sh start test 5689 5690 || exit 1
trap 'bash scripts/rabbitmq.sh stop test 5689 >/dev/null 2>&1; bash scripts/rabbitmq.sh cluster stop testcluster 5684 >/dev/null 2>&1' EXIT
bash scripts/rabbitmq.sh cluster start testcluster 5684 || exit 1
export GRADELINE_TEST_CLUSTER_NAME=testcluster GRADELINE_TEST_CLUSTER_PORT=5684
GRADELINE_TEST_CLUSTER_URLS=$(bash scripts/rabbitmq.sh cluster env testcluster 5684 | sed 's/^export GRADELINE_AMQP_URL=//')
export GRADELINE_TEST_CLUSTER_URLS
eval "$(bash scripts/rabbitmq.sh env test 5689 5690)"
export GRADELINE_TEST_AMQP_URL="$GRADELINE_AMQP_URL" GRADELINE_TEST_AMQPS_URL="$GRADELINE_AMQPS_URL"

status=0
echo "== swift test"
swift test 2>&1 | grep -aEv "^\[[0-9]+/[0-9]+\]|^(◇|✔) (Test|Suite) \"|^(◇|✔) Test case " ; test "${PIPESTATUS[0]}" -eq 0 || status=1

echo "== evaluation gate (the golden set's gate cases against models/evaluation.json)"
.build/debug/gradeline-worker evaluate --golden experiment/evalset/golden --case gate \
    --baseline models/evaluation.json >/dev/null || status=1

echo "== contract tests (pytest)"
GRADELINE_BIN=.build/debug python3 -m pytest -q Tests/contracts || status=1

echo "== fuzz (PNG decode, JPEG decode and job parsing, 60 s each)"
bash scripts/fuzz.sh 60 || status=1

exit $status
