#!/usr/bin/env bash
# A small cluster of "hosts" in network namespaces, for the partition tests (Tests/EndToEndTests/
# Partitions) and `make chaos`. Each host is a namespace miispt-RUN-HOST with one interface, eth0,
# addressed 10.231.0.(10+N)/24, plugged by a veth pair into a bridge that lives in its own
# namespace miispt-RUN-switch: nothing is added to the calling namespace, and the only addresses
# that exist or are contacted are those inside the namespaces made here. RUN is the process id of
# the run that owns the cluster; `sweep` removes the clusters of runs that no longer exist (a
# killed test), and only namespaces named miispt-*.
#
#   netns-cluster.sh up RUN HOST...               make the switch and one namespace per HOST (in order: .10, .11, ...)
#   netns-cluster.sh down RUN                     remove every namespace of RUN (stopping what runs in them)
#   netns-cluster.sh sweep                        remove the namespaces of runs whose process is gone
#   netns-cluster.sh exec RUN HOST COMMAND...     run COMMAND on HOST
#   netns-cluster.sh address RUN HOST             print HOST's address
#   netns-cluster.sh link RUN HOST up|down        HOST's cable plugged in or pulled
#   netns-cluster.sh drop RUN HOST PEER in|out|both   nftables on HOST drops packets from/to PEER
#   netns-cluster.sh loss RUN HOST PERCENT        nftables on HOST drops PERCENT % of its packets, both ways
#   netns-cluster.sh delay RUN HOST MS            HOST's outgoing TCP connections delayed MS ms each way (scripts/delay-relay.py)
#   netns-cluster.sh heal RUN HOST                every fault of HOST removed (nftables tables, the delay relay, link up)
#
# Every command is bounded: no loop waits on the network.
set -euo pipefail
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
prefix=miispt
usage() { echo "usage: netns-cluster.sh up|down|sweep|exec|address|link|drop|loss|delay|heal ..." >&2; exit 64; }
[ "$(id -u)" -eq 0 ] || { echo "netns-cluster: must run as root (network namespaces)" >&2; exit 77; }
command -v ip >/dev/null || { echo "netns-cluster: ip not found (apt-get install iproute2)" >&2; exit 77; }

namespaces_of() {  # RUN
    ip netns list | awk '{print $1}' | grep -E "^${prefix}-$1-" || true
}

remove_run() {  # RUN
    local ns pid
    for ns in $(namespaces_of "$1"); do
        # Whatever still runs in the namespace (a database node, a tool) is killed by its pid,
        # then the namespace goes.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -CONT "$pid" 2>/dev/null || true; kill -KILL "$pid" 2>/dev/null || true; done
        ip netns delete "$ns" 2>/dev/null || true
    done
}

host_namespace() { echo "${prefix}-$1-$2"; }

delay_port=15999
delay_mark=0x6d69

stop_delay() {  # RUN HOST: the redirect rule removed, then the relay stopped
    local pidfile="/run/${prefix}/$1/$2.delay-pid" pid
    ip netns exec "$(host_namespace "$1" "$2")" nft delete table ip ${prefix}_delay 2>/dev/null || true
    if [ -f "$pidfile" ]; then
        pid=$(cat "$pidfile")
        # Only our relay: the pid may have been reused once it ended.
        if grep -q delay-relay.py "/proc/$pid/cmdline" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
        rm -f "$pidfile" "/run/${prefix}/$1/$2.delay-ready"
    fi
}

address_of() {  # RUN HOST
    local file="/run/${prefix}/$1/$2"
    [ -f "$file" ] || { echo "netns-cluster: no host $2 in run $1" >&2; exit 1; }
    cat "$file"
}

nft_on() {  # RUN HOST RULES...
    local ns; ns=$(host_namespace "$1" "$2"); shift 2
    command -v nft >/dev/null || { echo "netns-cluster: nft not found (apt-get install nftables)" >&2; exit 77; }
    ip netns exec "$ns" nft -f - <<EOF
table inet ${prefix} {
    chain input { type filter hook input priority 0; policy accept; }
    chain output { type filter hook output priority 0; policy accept; }
}
$*
EOF
}

command=${1:-}; shift || true
case "$command" in
up)
    run=${1:?run}; shift
    [ $# -ge 1 ] || usage
    [ $# -le 100 ] || { echo "netns-cluster: at most 100 hosts" >&2; exit 64; }
    mkdir -p "/run/${prefix}/$run"
    switch=$(host_namespace "$run" switch)
    ip netns add "$switch"
    ip netns exec "$switch" ip link add br0 type bridge
    ip netns exec "$switch" ip link set br0 up
    index=0
    for host in "$@"; do
        ns=$(host_namespace "$run" "$host")
        address="10.231.0.$((10 + index))"
        ip netns add "$ns"
        ip netns exec "$ns" ip link set lo up
        # The veth pair is created inside the host's namespace, its peer moved to the switch.
        ip netns exec "$ns" ip link add eth0 type veth peer name "p$index"
        ip netns exec "$ns" ip link set "p$index" netns "$switch"
        ip netns exec "$switch" ip link set "p$index" master br0
        ip netns exec "$switch" ip link set "p$index" up
        ip netns exec "$ns" ip addr add "$address/24" dev eth0
        ip netns exec "$ns" ip link set eth0 up
        printf '%s\n' "$address" > "/run/${prefix}/$run/$host"
        index=$((index + 1))
    done
    ;;
down)
    run=${1:?run}
    remove_run "$run"
    rm -rf "/run/${prefix:?}/$run"
    ;;
sweep)
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^${prefix}-[0-9]+-" || true); do
        run=$(echo "$ns" | cut -d- -f2)
        if ! kill -0 "$run" 2>/dev/null; then
            remove_run "$run"
            rm -rf "/run/${prefix:?}/$run" "/run/${prefix:?}/$run"-*
        fi
    done
    ;;
exec)
    run=${1:?run}; host=${2:?host}; shift 2
    exec ip netns exec "$(host_namespace "$run" "$host")" "$@"
    ;;
address)
    address_of "${1:?run}" "${2:?host}"
    ;;
link)
    run=${1:?run}; host=${2:?host}; state=${3:?up or down}
    case "$state" in up|down) ;; *) usage ;; esac
    ip netns exec "$(host_namespace "$run" "$host")" ip link set eth0 "$state"
    ;;
drop)
    run=${1:?run}; host=${2:?host}; peer=$(address_of "$run" "${3:?peer}"); direction=${4:-both}
    rules=""
    case "$direction" in
    in) rules="add rule inet ${prefix} input ip saddr $peer drop" ;;
    out) rules="add rule inet ${prefix} output ip daddr $peer drop" ;;
    both) rules="add rule inet ${prefix} input ip saddr $peer drop
add rule inet ${prefix} output ip daddr $peer drop" ;;
    *) usage ;;
    esac
    nft_on "$run" "$host" "$rules"
    ;;
loss)
    run=${1:?run}; host=${2:?host}; percent=${3:?percent}
    [[ "$percent" =~ ^[0-9]+$ ]] && [ "$percent" -le 100 ] || usage
    match="numgen random mod 100 < $percent"
    [ "$percent" -eq 100 ] && match=""
    nft_on "$run" "$host" "add rule inet ${prefix} input iifname eth0 $match drop
add rule inet ${prefix} output oifname eth0 $match drop"
    ;;
delay)
    # tc netem needs sch_netem, which the test kernels lack: a relay in HOST's namespace delays
    # every chunk of HOST's outgoing TCP connections instead, each way (connections already open
    # are not affected). The nat rule sends them to the relay; the relay's own connections carry
    # its mark and pass. Loss and drops (the inet table) still apply to what the relay sends.
    run=${1:?run}; host=${2:?host}; ms=${3:?milliseconds}
    [[ "$ms" =~ ^[0-9]+$ ]] && [ "$ms" -le 10000 ] || usage
    ns=$(host_namespace "$run" "$host")
    stop_delay "$run" "$host"
    ready="/run/${prefix}/$run/$host.delay-ready"
    rm -f "$ready"
    ip netns exec "$ns" setsid python3 "$(dirname "$0")/delay-relay.py" --port "$delay_port" --delay-ms "$ms" \
        --mark "$delay_mark" --lifetime 900 --ready-file "$ready" </dev/null >/dev/null 2>&1 &
    echo $! > "/run/${prefix}/$run/$host.delay-pid"
    for _ in $(seq 50); do [ -f "$ready" ] && break; sleep 0.1; done
    [ -f "$ready" ] || { echo "netns-cluster: the delay relay on $host did not start" >&2; stop_delay "$run" "$host"; exit 1; }
    ip netns exec "$ns" nft -f - <<EOF
table ip ${prefix}_delay {
    chain output {
        type nat hook output priority -100; policy accept;
        meta mark $delay_mark return
        ip daddr 127.0.0.0/8 return
        meta l4proto tcp redirect to :$delay_port
    }
}
EOF
    ;;
heal)
    run=${1:?run}; host=${2:?host}; ns=$(host_namespace "$run" "$host")
    ip netns exec "$ns" nft delete table inet ${prefix} 2>/dev/null || true
    stop_delay "$run" "$host"
    ip netns exec "$ns" ip link set eth0 up
    ;;
*)
    usage
    ;;
esac
