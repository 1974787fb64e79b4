#!/usr/bin/env bash
# Runs the built test bundle (swift build --build-tests) in two lanes at once, each lane serial:
#   side  the tests in Tests/EndToEndTests/Partitions (hosts in network namespaces: most of their
#         time is spent waiting out leases, timeouts and delayed packets) and in
#         Tests/EndToEndTests/Package (the Debian package: dpkg-deb, lintian, no time bounds);
#   main  every other test.
# Run one after the other, the two lanes take about the sum of their times; side by side about
# as long as the longer one (here: main 214 s, side 217 s, 221 s in all). Within a lane nothing
# runs in parallel (the end-to-end tests measure bounded waits that parallel runs on two cores
# would make flaky).
# The side lane's output is printed after the main lane's, whole, so that the two never
# interleave, also when the run is interrupted or a lane outlives its bound (LANE_SECONDS, default
# 1200: then it is stopped and fails). The exit status is non-zero if either lane failed. What a
# lane killed mid-test leaves behind (network namespaces, PostgreSQL pairs) the next run sweeps.
# Usage: scripts/run-tests.sh [BUILD_DIR]   (default .build/debug, relative to the repository;
# run it inside with-postgres.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-.build/debug}
lane_seconds=${LANE_SECONDS:-1200}
bundle=$(ls -d "$build_dir"/*PackageTests.xctest 2>/dev/null | head -n 1 || true)
[ -n "$bundle" ] && [ -x "$bundle" ] || { echo "run-tests: no test bundle in $build_dir (swift build --build-tests first)" >&2; exit 1; }

# The side lane: every test declared in a file of its folders, matched by the file name that ends
# each test's ID (EndToEndTests.Suite/test()/File.swift:LINE:COLUMN), so that a new test there
# joins the lane whatever its declaration looks like.
side_folders=(Tests/EndToEndTests/Partitions Tests/EndToEndTests/Package)
side_files=$(for folder in "${side_folders[@]}"; do (cd "$folder" && ls *.swift 2>/dev/null); done | sed 's/\.swift$//' | paste -sd '|' || true)
[ -n "$side_files" ] || { echo "run-tests: no test file in ${side_folders[*]}" >&2; exit 1; }
side_filter="^EndToEndTests\\..*/($side_files)\\.swift:[0-9]+:[0-9]+\$"

export NO_COLOR=1
side_log=$(mktemp /tmp/miis-side-lane.XXXXXX)
side_pid=
main_pid=
side_printed=
print_side_lane() {
    [ -z "$side_printed" ] || return 0
    side_printed=1
    echo "── the side lane (${side_folders[*]}) ──"
    cat "$side_log"
}
# Interrupted (INT, TERM): both lanes are stopped, and what the side lane printed is shown.
finish() {
    local stopped=() pid
    for pid in "$main_pid" "$side_pid"; do
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then stopped+=("$pid"); fi
    done
    if [ "${#stopped[@]}" -gt 0 ]; then
        kill -TERM "${stopped[@]}" 2>/dev/null || true
        wait "${stopped[@]}" 2>/dev/null || true
        print_side_lane
        echo "run-tests: interrupted; the lanes were stopped"
    fi
    rm -f "$side_log"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Both lanes run as background jobs so that the script, waiting for them with the wait builtin,
# can act on a signal at once; timeout (exec'd, so that $! is its pid) passes a TERM on to the
# test process, or kills it once the bound ran out. The tools a test runs are in process groups
# of their own (Foundation's Process) and end by their own bounds.
lane() { exec timeout --kill-after=30 "$lane_seconds" "$bundle" --testing-library swift-testing --no-parallel "$@"; }
lane --filter "$side_filter" >"$side_log" 2>&1 &
side_pid=$!
lane --skip "$side_filter" &
main_pid=$!
main_status=0
wait "$main_pid" || main_status=$?
main_pid=
side_status=0
wait "$side_pid" || side_status=$?
side_pid=
print_side_lane
for name in main side; do
    status_name=${name}_status
    if [ "${!status_name}" -eq 124 ]; then
        echo "run-tests: the $name lane did not end within $lane_seconds s and was stopped"
    fi
done
echo "run-tests: main lane exit $main_status, side lane exit $side_status"
[ "$main_status" -eq 0 ] && [ "$side_status" -eq 0 ]
