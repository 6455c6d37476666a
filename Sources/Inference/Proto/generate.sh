#!/usr/bin/env bash
# Regenerates onnx_subset.pb.swift from onnx_subset.proto. Needs protoc (apt-get install
# protobuf-compiler) and protoc-gen-swift from swift-protobuf 1.39.0, built once with
#   swift build -c release --product protoc-gen-swift   (in any package depending on swift-protobuf)
# and passed as PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift.
set -euo pipefail
cd "$(dirname "$0")"
protoc --plugin=protoc-gen-swift="${PROTOC_GEN_SWIFT:?set PROTOC_GEN_SWIFT to the plugin binary}" \
    --swift_out=. --swift_opt=Visibility=Internal onnx_subset.proto
echo "wrote $(pwd)/onnx_subset.pb.swift"
