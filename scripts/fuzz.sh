#!/usr/bin/env bash
# Coverage-guided fuzzing of the key-file parser with libFuzzer (see docs/security.md).
#
#   scripts/fuzz.sh [SECONDS]     build, then fuzz for SECONDS (default 60)
#   scripts/fuzz.sh --build-only  build only
#   scripts/fuzz.sh --seeds       rewrite the committed seed corpus Fuzz/corpus/
#
# The harness (Fuzz/KeyFileFuzzer/main.swift) is compiled together with Sources/KeyFile/**/*.swift
# as one module with -sanitize=fuzzer,address (KeyFile's dependencies come from the SwiftPM build); everything lands in .build-fuzz/ (gitignored).
# Crashes are written to .build-fuzz/artifacts/; the working corpus grows in .build-fuzz/corpus/,
# seeded from Fuzz/corpus/ and Tests/KeyFileTests/Vectors/*.bin when present.
# One fuzzing process, one job: the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFTC=${SWIFTC:-swiftc}
OUT=.build-fuzz
BIN=$OUT/KeyFileFuzzer
mode=run
seconds=60
case "${1:-}" in
    --build-only) mode=build ;;
    --seeds) mode=seeds ;;
    "") ;;
    *) seconds=$1 ;;
esac

mkdir -p "$OUT/artifacts" "$OUT/corpus" "$OUT/module-cache"

# OpenSSL's include path from pkg-config when it has one (Debian: /usr/include, nothing to add).
cflags=()
for flag in $(pkg-config --cflags openssl 2>/dev/null || true); do cflags+=(-Xcc "$flag"); done
libs=$(pkg-config --libs-only-L openssl 2>/dev/null || true)

sources=()
while IFS= read -r -d '' file; do sources+=("$file"); done < <(find Sources/KeyFile -name '*.swift' -print0 | sort -z)

# KeyFile's own dependencies (ErrorReporting, swift-system's SystemPackage and its C shim) are not
# fuzzed: they are linked as SwiftPM built them (debug, uninstrumented), and imported from its modules.
swift build --target KeyFile >/dev/null
products=.build/debug
csystem=.build/checkouts/swift-system/Sources/CSystem/include
dependencies=("$products"/ErrorReporting.build/*.o "$products"/SystemPackage.build/*.o "$products"/CSystem.build/*.o)

newest=$(find Sources/KeyFile Sources/ErrorReporting Fuzz/KeyFileFuzzer Sources/COpenSSL scripts/fuzz.sh -newer "$BIN" 2>/dev/null | head -1 || true)
if [ ! -x "$BIN" ] || [ -n "$newest" ]; then
    echo "fuzz: building $BIN" >&2
    # -O with -sanitize=fuzzer,address: optimized code with coverage and ASan instrumentation.
    # -g keeps crash reports readable; lld because gold warns about every ASan helper symbol. -j1/-num-threads 1: the machine is shared.
    "$SWIFTC" -parse-as-library -module-name KeyFileFuzz -package-name miis_keyfile_toolkit \
        -sanitize=fuzzer,address -O -g -swift-version 6 -use-ld=lld \
        -I Sources/COpenSSL "${cflags[@]}" $libs -lcrypto \
        -I "$products/Modules" -Xcc -fmodule-map-file="$csystem/module.modulemap" -Xcc -I"$csystem" \
        -module-cache-path "$OUT/module-cache" -j 1 -num-threads 1 \
        "${sources[@]}" Fuzz/KeyFileFuzzer/main.swift "${dependencies[@]}" \
        -o "$BIN"
fi

case $mode in
    build) exit 0 ;;
    seeds)
        rm -f Fuzz/corpus/*.bin
        ASAN_OPTIONS=detect_leaks=0 MIIS_FUZZ_WRITE_SEEDS="$PWD/Fuzz/corpus" "$BIN"
        ls -l Fuzz/corpus
        exit 0 ;;
esac

cp -n Fuzz/corpus/* "$OUT/corpus/" 2>/dev/null || true
for vector in Tests/KeyFileTests/Vectors/*.bin; do
    [ -f "$vector" ] && cp -n "$vector" "$OUT/corpus/" 2>/dev/null || true
done

# -rss_limit_mb: a parser that allocates wildly is a finding (the KDF ceiling is 1 GiB, the harness
# derives only for cheap KDFs). -max_len: key files are at most 8 MiB, but mutations of a few KiB
# reach every branch; a larger -max_len slows libFuzzer down without new coverage.
echo "fuzz: running for ${seconds}s" >&2
# SWIFT_BACKTRACE=enable=no: Swift's crash backtracer reads memory that ASan flags (a second,
# confusing report); libFuzzer and ASan print the stack themselves.
SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=abort_on_error=1:symbolize=1 "$BIN" "$OUT/corpus" \
    -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$OUT/artifacts/" -print_final_stats=1 2>&1 | tee "$OUT/last-run.log"
status=${PIPESTATUS[0]}
if ls "$OUT"/artifacts/* >/dev/null 2>&1; then
    echo "fuzz: artifacts in $OUT/artifacts/ (each must become a regression vector in Tests/KeyFileTests/Robustness/)" >&2
fi
exit "$status"
