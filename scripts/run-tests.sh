#!/usr/bin/env bash
# Runs the built test bundle (swift build --build-tests) in two lanes at once, each lane serial:
#   network  the suites on hosts in network namespaces (Tests/EndToEndTests/Partitions): most of
#            their time is spent waiting out leases, timeouts and delayed packets, not computing;
#   main     every other suite.
# Run serially one after the other, the two take about 14 minutes on two cores; side by side
# about as long as the main lane alone. Each lane stays serial (the end-to-end tests measure
# bounded waits that parallel runs on two cores would make flaky). The network lane's output is
# printed after the main lane's, whole, so that the two never interleave; the exit status is
# non-zero if either lane failed.
# Usage: scripts/run-tests.sh [BUILD_DIR]   (default .build/debug; run it inside with-postgres.sh)
set -euo pipefail
build_dir=${1:-.build/debug}
bundle=$(ls -d "$build_dir"/*PackageTests.xctest 2>/dev/null | head -n 1)
[ -x "$bundle" ] || { echo "run-tests: no test bundle in $build_dir (swift build --build-tests first)" >&2; exit 1; }

# The network lane: every type declared at the top level of Tests/EndToEndTests/Partitions (the
# suites, and helpers that match no test), so that a new suite there joins the lane without an
# edit here.
network_suites=$(grep -hoE '^(@Suite(\([^)]*\))? )?(final class|struct) [A-Za-z0-9_]+' Tests/EndToEndTests/Partitions/*.swift | awk '{print $NF}' | sort -u | paste -sd '|')
[ -n "$network_suites" ] || { echo "run-tests: no suite found in Tests/EndToEndTests/Partitions" >&2; exit 1; }
network_filter="^EndToEndTests\\.($network_suites)/"

export NO_COLOR=1
network_log=$(mktemp /tmp/miis-network-lane.XXXXXX)
trap 'rm -f "$network_log"' EXIT
"$bundle" --testing-library swift-testing --no-parallel --filter "$network_filter" >"$network_log" 2>&1 &
network_pid=$!
main_status=0
"$bundle" --testing-library swift-testing --no-parallel --skip "$network_filter" || main_status=$?
network_status=0
wait "$network_pid" || network_status=$?
echo "── the network lane ($network_suites) ──"
cat "$network_log"
echo "run-tests: main lane exit $main_status, network lane exit $network_status"
[ "$main_status" -eq 0 ] && [ "$network_status" -eq 0 ]
