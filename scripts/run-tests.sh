#!/usr/bin/env bash
# Runs the built test bundle (swift build --build-tests) in two lanes at once, each lane serial:
#   network  the tests in Tests/EndToEndTests/Partitions (hosts in network namespaces): most of
#            their time is spent waiting out leases, timeouts and delayed packets, not computing;
#   main     every other test.
# Run one after the other, the two lanes take about the sum of their times (here 238 s and 197 s);
# side by side about as long as the main lane alone. Within a lane nothing runs in parallel (the
# end-to-end tests measure bounded waits that parallel runs on two cores would make flaky).
# The network lane's output is printed after the main lane's, whole, so that the two never
# interleave, also when the run is interrupted or a lane outlives its bound (LANE_SECONDS, default
# 1200: then it is killed and fails). The exit status is non-zero if either lane failed. What a
# lane killed mid-test leaves behind (network namespaces, PostgreSQL pairs) the next run sweeps.
# Usage: scripts/run-tests.sh [BUILD_DIR]   (default .build/debug; run it inside with-postgres.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-.build/debug}
lane_seconds=${LANE_SECONDS:-1200}
bundle=$(ls -d "$build_dir"/*PackageTests.xctest 2>/dev/null | head -n 1 || true)
[ -n "$bundle" ] && [ -x "$bundle" ] || { echo "run-tests: no test bundle in $build_dir (swift build --build-tests first)" >&2; exit 1; }

# The network lane: every test declared in a file of Tests/EndToEndTests/Partitions, matched by
# the file name that ends each test's ID (EndToEndTests.Suite/test()/File.swift:LINE:COLUMN),
# so that a new test there joins the lane whatever its declaration looks like.
network_files=$(cd Tests/EndToEndTests/Partitions && ls *.swift 2>/dev/null | sed 's/\.swift$//' | paste -sd '|' || true)
[ -n "$network_files" ] || { echo "run-tests: no test file in Tests/EndToEndTests/Partitions" >&2; exit 1; }
network_filter="^EndToEndTests\\..*/($network_files)\\.swift:[0-9]+:[0-9]+\$"

export NO_COLOR=1
network_log=$(mktemp /tmp/miis-network-lane.XXXXXX)
network_pid=
main_pid=
network_printed=
print_network_lane() {
    [ -z "$network_printed" ] || return 0
    network_printed=1
    echo "── the network lane (Tests/EndToEndTests/Partitions) ──"
    cat "$network_log"
}
# Interrupted (INT, TERM): both lanes are stopped, and what the network lane printed is shown.
finish() {
    local stopped=() pid
    for pid in "$main_pid" "$network_pid"; do
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then stopped+=("$pid"); fi
    done
    if [ "${#stopped[@]}" -gt 0 ]; then
        kill -TERM "${stopped[@]}" 2>/dev/null || true
        wait "${stopped[@]}" 2>/dev/null || true
        print_network_lane
        echo "run-tests: interrupted; the lanes were stopped"
    fi
    rm -f "$network_log"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Both lanes run as background jobs so that the script, waiting for them with the wait builtin,
# can act on a signal at once; timeout (exec'd, so that $! is its pid) passes a TERM on to the
# test process, or kills it once the bound ran out. The tools a test runs are in process groups
# of their own (Foundation's Process) and end by their own bounds.
lane() { exec timeout --kill-after=30 "$lane_seconds" "$bundle" --testing-library swift-testing --no-parallel "$@"; }
lane --filter "$network_filter" >"$network_log" 2>&1 &
network_pid=$!
lane --skip "$network_filter" &
main_pid=$!
main_status=0
wait "$main_pid" || main_status=$?
main_pid=
network_status=0
wait "$network_pid" || network_status=$?
network_pid=
print_network_lane
for lane in main network; do
    status_name=${lane}_status
    if [ "${!status_name}" -eq 124 ]; then
        echo "run-tests: the $lane lane did not end within $lane_seconds s and was stopped"
    fi
done
echo "run-tests: main lane exit $main_status, network lane exit $network_status"
[ "$main_status" -eq 0 ] && [ "$network_status" -eq 0 ]
