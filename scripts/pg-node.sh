#!/usr/bin/env bash
# One throwaway PostgreSQL node of a replicated pair, for the failover tests (Tests/EndToEndTests/
# Partitions) and the network-namespace harness (scripts/netns-cluster.sh, which runs this script
# inside a node's namespace with `ip netns exec`). Each node lives in its own directory NODE:
# NODE/data (the cluster), NODE/options (its listen address and port), NODE/server.log, and the
# unix socket.
#
#   pg-node.sh primary NODE ADDRESS PORT             initdb, start, create role and database miis
#   pg-node.sh sync NODE on|off                      synchronous_standby_names '*' or '' (ALTER SYSTEM, reload)
#   pg-node.sh standby NODE ADDRESS PORT PRIMARY_ADDRESS PRIMARY_PORT
#                                                    pg_basebackup -R from the primary, start as hot standby
#   pg-node.sh start NODE | stop NODE | kill NODE    start; fast stop; SIGKILL of the postmaster (a crash)
#   pg-node.sh freeze NODE | thaw NODE               SIGSTOP / SIGCONT of every process of the node
#   pg-node.sh promote NODE                          pg_ctl promote, waiting until it accepts writes
#   pg-node.sh remove NODE                           immediate stop, then the directory is deleted
#
# The passwords of the `postgres` superuser (also the replication user) and of the `miis` role are
# both $PGPASSWORD, which the caller sets. The server listens on ADDRESS only (127.0.0.1 or an
# address inside a test namespace) and accepts scram-sha-256 logins from anywhere it listens.
# Every wait is bounded.
set -euo pipefail
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
# Descriptors inherited from the caller (a test process holds hundreds) would pass on to the
# postmaster and count against its limit: closed here (255 is bash's own script descriptor).
for fd in $(ls /proc/$$/fd); do
    if [ "$fd" -gt 2 ] && [ "$fd" -ne 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pg_bin/initdb" ] || { echo "pg-node: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
run_as=postgres
if [ "$(id -u)" -ne 0 ]; then run_as=$(id -un); fi
as_user() { if [ "$(id -u)" -eq 0 ]; then runuser -u "$run_as" -- env PGPASSWORD="${PGPASSWORD:-}" "$@"; else "$@"; fi; }
usage() { echo "usage: pg-node.sh primary|standby|start|stop|kill|freeze|thaw|promote|remove NODE [ARGS...]" >&2; exit 64; }

command=${1:-}; node=${2:-}
[ -n "$command" ] && [ -n "$node" ] || usage
data="$node/data"

pg_ctl_start() {
    # A low soft descriptor limit is raised: a postmaster needs more than a shell, and root may.
    ulimit -n 4096 2>/dev/null || ulimit -S -n "$(ulimit -H -n)" 2>/dev/null || true
    as_user "$pg_bin/pg_ctl" -D "$data" -w -t 60 -l "$node/server.log" -o "$(cat "$node/options")" start >/dev/null \
        || { tail -n 20 "$node/server.log" >&2; exit 1; }
}

make_node_directory() {
    [ ! -e "$node" ] || { echo "pg-node: $node already exists" >&2; exit 1; }
    mkdir -p "$node"
    chmod 0755 "$node"
    chown "$run_as" "$node"
}

# The address and port on the command line, not in the configuration files that pg_basebackup
# copies from the primary to its standby.
write_options() {  # ADDRESS PORT [EXTRA]
    printf '%s' "-c listen_addresses=$1 -p $2 -k $node -c fsync=off -c max_connections=100 -c wal_keep_size=64MB ${3:-}" > "$node/options"
}

# The node's postmaster pid, printed only if that process still is this node's postmaster (its
# command line names the data directory): a killed node keeps its pid file, and the pid may since
# belong to another process, even another PostgreSQL server's, which must never be signalled.
live_postmaster() {
    [ -f "$data/postmaster.pid" ] || return 0
    local pid
    pid=$(head -n 1 "$data/postmaster.pid")
    case "$pid" in ''|*[!0-9]*) return 0 ;; esac
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-D $data "; then echo "$pid"; fi
}

case "$command" in
primary)
    address=${3:?address}; port=${4:?port}
    : "${PGPASSWORD:?pg-node: set PGPASSWORD}"
    make_node_directory
    printf '%s\n' "$PGPASSWORD" > "$node/pwfile"
    chown "$run_as" "$node/pwfile"; chmod 0600 "$node/pwfile"
    as_user "$pg_bin/initdb" -D "$data" -U postgres --auth=scram-sha-256 --pwfile="$node/pwfile" \
        -E UTF8 --locale=C.UTF-8 >"$node/initdb.log" 2>&1 || { cat "$node/initdb.log" >&2; exit 1; }
    rm -f "$node/pwfile"
    printf 'host all all 0.0.0.0/0 scram-sha-256\nhost replication all 0.0.0.0/0 scram-sha-256\n' >> "$data/pg_hba.conf"
    write_options "$address" "$port"
    pg_ctl_start
    psql -X -q -v ON_ERROR_STOP=1 -h "$address" -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE miis LOGIN PASSWORD '$PGPASSWORD'" -c "CREATE DATABASE miis OWNER miis" >/dev/null
    ;;
standby)
    address=${3:?address}; port=${4:?port}; primary_address=${5:?primary address}; primary_port=${6:?primary port}
    : "${PGPASSWORD:?pg-node: set PGPASSWORD}"
    make_node_directory
    # -R writes standby.signal and primary_conninfo (with the password: a throwaway cluster).
    as_user "$pg_bin/pg_basebackup" -h "$primary_address" -p "$primary_port" -U postgres -D "$data" -R -X stream -c fast \
        >"$node/basebackup.log" 2>&1 || { cat "$node/basebackup.log" >&2; exit 1; }
    # A promoted standby must not inherit "wait for a synchronous standby": it has none.
    sed -i '/^synchronous_standby_names/d' "$data/postgresql.auto.conf"
    write_options "$address" "$port" "-c hot_standby=on"
    pg_ctl_start
    ;;
sync)
    case "${3:-}" in on) names='*' ;; off) names='' ;; *) usage ;; esac
    as_user psql -X -q -v ON_ERROR_STOP=1 -h "$node" -p "$(sed -E 's/.* -p ([0-9]+) .*/\1/' "$node/options")" -U postgres -d postgres \
        -c "ALTER SYSTEM SET synchronous_standby_names = '$names'" -c "SELECT pg_reload_conf()" >/dev/null
    ;;
start)
    pg_ctl_start
    ;;
stop)
    as_user "$pg_bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    ;;
kill)
    pid=$(live_postmaster)
    if [ -n "$pid" ]; then
        # Every process of the server at once, as in a crash. The postmaster is stopped first so
        # that it forks no backend between the listing of its children and the kill: once it is
        # dead its children are re-parented and -P no longer finds them; left alive, a backend can
        # go on answering its client (and committing) until it notices. A crashed node keeps its
        # pid file.
        kill -STOP "$pid" 2>/dev/null || true
        kill -KILL "$pid" $(pgrep -P "$pid") 2>/dev/null || true
    fi
    ;;
freeze|thaw)
    pid=$(live_postmaster)
    if [ -n "$pid" ]; then
        # The postmaster and exactly its children (the backends and helpers of this node). Frozen,
        # the postmaster is stopped first, so that it forks no backend between the listing of its
        # children and their stop (clients keep connecting meanwhile); thawed, it goes last.
        if [ "$command" = freeze ]; then
            kill -STOP "$pid" 2>/dev/null || true
            kill -STOP $(pgrep -P "$pid") 2>/dev/null || true
        else
            kill -CONT $(pgrep -P "$pid") 2>/dev/null || true
            kill -CONT "$pid" 2>/dev/null || true
        fi
    fi
    ;;
promote)
    as_user "$pg_bin/pg_ctl" -D "$data" -w -t 60 promote >/dev/null
    ;;
remove)
    pid=$(live_postmaster)
    if [ -n "$pid" ]; then
        kill -CONT $(pgrep -P "$pid") "$pid" 2>/dev/null || true
        as_user "$pg_bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$node"
    ;;
*)
    usage
    ;;
esac
