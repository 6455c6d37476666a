#!/usr/bin/env bash
# Sets a new machine up and runs every test: the Swift suites, then the contract tests.
#
#   bash scripts/test.sh
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh debug || exit 1

status=0
echo "== swift test"
swift test 2>&1 | grep -Ev "^\[[0-9]+/[0-9]+\]|^(◇|✔) (Test|Suite) \"" ; test "${PIPESTATUS[0]}" -eq 0 || status=1

echo "== contract tests (pytest)"
GRADELINE_BIN=.build/debug python3 -m pytest -q Tests/contracts || status=1

exit $status
