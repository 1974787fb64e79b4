#!/usr/bin/env bash
# The main job: a demo deployment on the embedded SQLite database, a primary and a standby, the
# key set exported with keytool, the primary lost, and the standby activated with miisactivate.
# Usage: scripts/demo.sh [DIR]   (run as root; `make demo` builds release binaries first)
set -euo pipefail
cd "$(dirname "$0")/.."
products=${PRODUCTS:-.build/release}
demo=${1:-${DEMO_DIR:-$(mktemp -d /tmp/miis-demo.XXXXXX)}}
mkdir -p "$demo"
demo=$(cd "$demo" && pwd)
rm -rf "$demo/sync1" "$demo/sync2" "$demo/shared.db"* "$demo/backups"
# Bold step headers only on a terminal, and never with NO_COLOR set (https://no-color.org).
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
# Each command is echoed as it would be typed: words with shell metacharacters (CORP\svc-sync, *)
# in single quotes, so that a line pasted into a shell runs the same command.
shell_quoted() {
    local word quoted=()
    for word in "$@"; do
        if [[ $word =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then quoted+=("$word"); else quoted+=("'${word//\'/\'\\\'\'}'"); fi
    done
    printf '%s' "${quoted[*]}"
}
run() { printf '$ %s\n' "$(shell_quoted "$@")"; "$@"; }

umask 077
password_file="$demo/service-account.password"
printf 'Corr3ct horse – battery staple\n' > "$password_file"
account='CORP\svc-sync'
database="$demo/shared.db"

step "Set up the primary (sync1, with a 5 s deployment lease for the demo; 30 s by default) and a warm standby (sync2) sharing one SQLite database"
for server in sync1 sync2; do
    mkdir -p "$demo/$server/Bin"
    cp "$products/keytool" "$products/miisserver" "$demo/$server/Bin/"
    # miisactivate: the multi-call miisserver binary under its other name.
    ln -f "$demo/$server/Bin/miisserver" "$demo/$server/Bin/miisactivate"
done
run "$demo/sync1/Bin/miisserver" setup --install-dir "$demo/sync1" --name sync1 --database "$database" \
    --role primary --account "$account" --admin-group miis-demo-admins --password-file "$password_file" --lease 5
run "$demo/sync2/Bin/miisserver" setup --install-dir "$demo/sync2" --name sync2 --database "$database" \
    --role standby --account "$account" --admin-group miis-demo-admins

step "The primary stores a connector credential and sends a heartbeat"
printf 'ad-connector-s3cret\n' | run "$demo/sync1/Bin/miisserver" secret set ad-connector --password-file "$password_file"
run "$demo/sync1/Bin/miisserver" heartbeat
run "$demo/sync1/Bin/miisserver" status

step "Export the key set to a backup key file, verify it, inspect it without the password"
mkdir -p "$demo/backups"
run "$demo/sync1/Bin/miisserver" backup --install-dir "$demo/sync1" -o "$demo/backups/miis_keys.bin" --password-file "$password_file"
run "$demo/sync1/Bin/keytool" verify "$demo/backups/miis_keys.bin" --account "$account" --password-file "$password_file"
run "$demo/sync1/Bin/keytool" inspect "$demo/backups/miis_keys.bin"

step "While the primary is alive, activation is refused (exit 26)"
run "$demo/sync1/Bin/miisserver" heartbeat
set +e
"$demo/sync2/Bin/miisactivate" "$demo/backups/miis_keys.bin" "$account" '*' /q < "$password_file"
status=$?
set -e
echo "miisactivate exited with $status"
[ "$status" -eq 26 ] || { echo "demo: expected exit 26 while the primary is alive" >&2; exit 1; }

step "The primary is lost: no heartbeat for longer than the deployment's lease (5 s here, 30 s by default)"
sleep 6

step "Activate the standby, as the reference's example does (miisactivate miis_keys.bin FIMSyncAdmin *)"
run "$demo/sync2/Bin/miisactivate" "$demo/backups/miis_keys.bin" "$account" '*' /q < "$password_file"

step "The new primary is active; the old one is fenced and refuses to act"
run "$demo/sync2/Bin/miisserver" check
run "$demo/sync2/Bin/miisserver" status
set +e
"$demo/sync1/Bin/miisserver" check
status=$?
set -e
echo "miisserver check on sync1 exited with $status (fenced)"
[ "$status" -ne 0 ] || { echo "demo: the old primary should be fenced" >&2; exit 1; }
run "$demo/sync2/Bin/miisserver" history

printf '\nDemo deployment in %s: activation succeeded.\n' "$demo"
