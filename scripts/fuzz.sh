#!/usr/bin/env bash
# Builds the libFuzzer targets (PNG decode, JPEG decode, job parsing) with AddressSanitizer and runs each.
#
#   bash scripts/fuzz.sh [SECONDS]       # SECONDS per target, 60 by default
#
# Only what the targets need is compiled, straight with swiftc and clang, into .build-fuzz/:
# the shims over libpng and libjpeg and a slice of Core's sources as a module named Core. New inputs that
# reach new code go to .build-fuzz/corpus/<target>/ (the committed seeds in fuzz/corpus/ are
# only read). A crash, leak, timeout or huge allocation writes its input to
# run/fuzz/<target>/ and fails the script.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
build=.build-fuzz
out=run/fuzz
mkdir -p "$build/modules/CPNG" "$build/modules/CJPEG" "$out"

# The Core files the targets reach. A compile error naming a missing type means Job, PNG or
# JPEG now uses another file: add it here.
core_files=(
    Sources/Core/Codec/ExifOrientation.swift
    Sources/Core/Codec/JPEG.swift
    Sources/Core/Codec/JPEGMarkers.swift
    Sources/Core/Codec/PNG.swift
    Sources/Core/Contracts/Base64.swift
    Sources/Core/Contracts/Echo.swift
    Sources/Core/Contracts/Job.swift
    Sources/Core/Contracts/RFC3339.swift
    Sources/Core/Contracts/StrictJSON.swift
    Sources/Core/Dataset/*.swift
    Sources/Core/Pipeline/Artifact.swift
    Sources/Core/Pipeline/FunctionDescriptor.swift
    Sources/Core/Pipeline/JSONValue.swift
    Sources/Core/Pipeline/Outcome.swift
    Sources/Core/Pipeline/PipelineError.swift
    Sources/Core/Pipeline/Request.swift
    Sources/Core/Pipeline/SHA256.swift
    Sources/Core/Pipeline/StepStatus.swift
    Sources/Core/Pipeline/Trace.swift
)
sanitize=(-sanitize=fuzzer,address)
# The Swift toolchain's clang has libFuzzer and the sanitizer runtimes; a system clang may not.
clang="$(dirname "$(command -v swiftc)")/clang"
[[ -x $clang ]] || clang=clang
# Warnings from the gold linker about ASan's local symbols are noise.
quiet() { grep -v "Cannot export local symbol" || true; }

echo "fuzz: building in $build"
cat >"$build/modules/CPNG/module.modulemap" <<EOF
module CPNG {
    header "$PWD/Sources/CPNG/include/cpng.h"
    export *
}
EOF
cat >"$build/modules/CJPEG/module.modulemap" <<EOF
module CJPEG {
    header "$PWD/Sources/CJPEG/include/cjpeg.h"
    export *
}
EOF
"$clang" -c -g -O1 -fsanitize=fuzzer-no-link,address -I Sources/CPNG/include \
    Sources/CPNG/cpng.c -o "$build/cpng.o" || exit 1
"$clang" -c -g -O1 -fsanitize=fuzzer-no-link,address -I Sources/CJPEG/include \
    Sources/CJPEG/cjpeg.c -o "$build/cjpeg.o" || exit 1
swiftc "${sanitize[@]}" -g -O -parse-as-library -module-name Core -emit-library -static \
    -emit-module -emit-module-path "$build/modules/Core.swiftmodule" \
    -I "$build/modules" -I Sources/CCrypto "${core_files[@]}" -o "$build/libCore.a" 2>&1 | quiet
test "${PIPESTATUS[0]}" -eq 0 || exit 1
declare -A sources=([png]=fuzz/Targets/PNGDecode.swift [jpeg]=fuzz/Targets/JPEGDecode.swift
                    [job]=fuzz/Targets/JobParse.swift)
# FUZZ_TARGETS="jpeg" runs only some of them.
read -r -a targets <<<"${FUZZ_TARGETS:-png jpeg job}"
for target in "${targets[@]}"; do
    swiftc "${sanitize[@]}" -g -O -parse-as-library -I "$build/modules" -I Sources/CCrypto \
        "${sources[$target]}" "$build/libCore.a" "$build/cpng.o" "$build/cjpeg.o" -lpng16 -ljpeg -lcrypto \
        -o "$build/fuzz-$target" 2>&1 | quiet
    test "${PIPESTATUS[0]}" -eq 0 || exit 1
done

status=0
for target in "${targets[@]}"; do
    corpus="$build/corpus/$target"
    artifacts="$out/$target"
    mkdir -p "$corpus" "$artifacts"
    rm -f "$artifacts"/{crash,leak,timeout,oom,slow-unit}-*
    log="$out/$target.log"
    # -malloc_limit_mb: no single allocation over 256 MB (the decode targets' limits need 48 MB
    # at most); -timeout: no input may take 10 s.
    ASAN_OPTIONS=detect_leaks=1 "$build/fuzz-$target" "$corpus" "fuzz/corpus/$target" \
        -dict="fuzz/$target.dict" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=256 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" >"$log" 2>&1
    code=$?
    runs=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$log" | grep -o "[0-9]*$")
    found=$(ls "$artifacts" 2>/dev/null | grep -E "^(crash|leak|timeout|oom|slow-unit)-" || true)
    if [[ $code -ne 0 || -n $found ]]; then
        echo "fuzz $target: FAILED after ${runs:-?} executions (exit $code); inputs in $artifacts/, log $log:"
        grep -E "ERROR|SUMMARY|Fatal|Test unit written" "$log" | head -20
        status=1
    else
        echo "fuzz $target: ${runs:-?} executions in ${seconds} s, no crash (corpus $(ls "$corpus" | wc -l) new inputs)"
    fi
done
exit $status
