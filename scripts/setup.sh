#!/usr/bin/env bash
# Installs what Gradeline needs on a new Debian 12 machine, then builds it.
#
#   bash scripts/setup.sh [debug|release]
#
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

configuration="${1:-debug}"

# C libraries the Swift targets link, and the tools the scripts use.
apt_packages=(pkg-config libpng-dev libjpeg62-turbo-dev libssl-dev zlib1g-dev librabbitmq-dev rabbitmq-server openssl
    libopenblas-dev libdnnl-dev)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python packages for the experiment and the contract tests, into the first python3 on PATH.
# rfc3339-validator is what makes jsonschema check "format": "date-time"; without it the
# contract tests could not check timestamps (they fail rather than skip that check). pyyaml is
# for experiment/reference.py, which reads the pipeline config and the grade rules.
if ! python3 -c "import numpy, jsonschema, pytest, rfc3339_validator, yaml" 2>/dev/null; then
    echo "setup: installing numpy, jsonschema, pytest, rfc3339-validator and pyyaml for $(command -v python3)"
    python3 -m pip install --quiet numpy jsonschema pytest rfc3339-validator pyyaml
fi

echo "setup: swift build -c $configuration"
# The filter may print nothing; the build's own status is the pipeline's (pipefail).
swift build -c "$configuration" 2>&1 \
    | { grep -aEv "^\[[0-9]+/[0-9]+\]|^(Fetching|Fetched|Computing|Computed|Creating working copy|Working copy) " || true; }
