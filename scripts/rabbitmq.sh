#!/usr/bin/env bash
# A private RabbitMQ node for the demo and the tests, living in a folder of its own, started
# without Debian's wrapper (which switches to the rabbitmq user).
#
#   bash scripts/rabbitmq.sh start|stop|restart|status|env [NAME] [PORT] [TLS_PORT]
#   bash scripts/rabbitmq.sh ctl NAME PORT RABBITMQCTL_ARGS...
#   bash scripts/rabbitmq.sh cluster start|stop|env [NAME] [BASE_PORT]
#
# NAME (default "demo") picks the folder run/rabbitmq-NAME and the node gradeline-NAME@localhost;
# PORT defaults to 5679. With TLS_PORT, the node also listens for amqps:// there, with a CA and
# a certificate for localhost made here by openssl. `env` prints the variables to reach it
# (GRADELINE_AMQP_URL, and with TLS GRADELINE_AMQPS_URL and GRADELINE_AMQP_CACERT). `ctl` runs
# rabbitmqctl against that node.
#
# `cluster` runs three such nodes on loopback, NAME-1 to NAME-3 (default "cluster") on ports
# BASE_PORT to BASE_PORT + 2 (default 5681), with one Erlang cookie, and joins 2 and 3 to 1, so
# that quorum queues (grading.jobs) have a member on each. It also sets the policy that mirrors
# the fleet's classic queues (dead letters, retries) on every node, as definitions.json does.
# `cluster env` prints GRADELINE_AMQP_URL with the three URLs, comma-separated, in order. A
# cluster none of whose nodes runs starts with empty nodes: its queues and messages are gone.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "cluster" ]]; then
    action="${2:-env}"
    cluster="${3:-cluster}"
    base_port="${4:-5681}"
    urls=()
    for n in 1 2 3; do urls+=("amqp://guest:guest@127.0.0.1:$((base_port + n - 1))/"); done
    case "$action" in
        start)
            # A cluster that is not running starts afresh: its nodes' data go. Tests leave
            # queues behind and may stop a node mid-run, and a node that stopped before its
            # peers waits for them at boot (mnesia's tables), so old data make starts slow or
            # stuck and leave stale queues whose failover the tests would then measure.
            running=0
            for n in 1 2 3; do
                if bash "$0" status "$cluster-$n" $((base_port + n - 1)) >/dev/null 2>&1; then running=1; fi
            done
            if [[ $running == 0 ]]; then
                for n in 1 2 3; do rm -rf "$PWD/run/rabbitmq-$cluster-$n/mnesia"; done
            fi
            # One cookie for the three nodes (the first node's, when it already has one).
            first_cookie="$PWD/run/rabbitmq-$cluster-1/.erlang.cookie"
            cookie=$(cat "$first_cookie" 2>/dev/null || od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
            for n in 1 2 3; do
                dir="$PWD/run/rabbitmq-$cluster-$n"
                mkdir -p "$dir"
                if [[ "$(cat "$dir/.erlang.cookie" 2>/dev/null)" != "$cookie" ]]; then
                    rm -f "$dir/.erlang.cookie"
                    printf '%s' "$cookie" > "$dir/.erlang.cookie"
                    chmod 400 "$dir/.erlang.cookie"
                fi
            done
            # Started one after another: each start waits until its node is up.
            for n in 1 2 3; do bash "$0" start "$cluster-$n" $((base_port + n - 1)); done
            for n in 2 3; do
                port=$((base_port + n - 1))
                if ! bash "$0" ctl "$cluster-$n" "$port" cluster_status 2>/dev/null | grep -q "gradeline-$cluster-1@localhost"; then
                    bash "$0" ctl "$cluster-$n" "$port" stop_app >/dev/null
                    bash "$0" ctl "$cluster-$n" "$port" join_cluster "gradeline-$cluster-1@localhost" >/dev/null
                    bash "$0" ctl "$cluster-$n" "$port" start_app >/dev/null
                fi
            done
            bash "$0" ctl "$cluster-1" "$base_port" set_policy --apply-to queues gradeline-mirror \
                '^(.+\.)?grading\.(dead|dead\.watch|retry\..+)$' '{"ha-mode":"all","ha-sync-mode":"automatic"}' >/dev/null
            echo "rabbitmq.sh: cluster $cluster is up: ${urls[*]}"
            ;;
        stop)
            for n in 3 2 1; do bash "$0" stop "$cluster-$n" $((base_port + n - 1)); done
            ;;
        env)
            (IFS=,; echo "export GRADELINE_AMQP_URL=${urls[*]}")
            ;;
        *) echo "usage: rabbitmq.sh cluster start|stop|env [NAME] [BASE_PORT]" >&2; exit 2 ;;
    esac
    exit 0
fi

command="${1:-status}"
name="${2:-demo}"
port="${3:-5679}"
tls_port="${4:-}"
base="$PWD/run/rabbitmq-$name"
node="gradeline-$name@localhost"
server=$(ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin 2>/dev/null | sort -V | tail -1)
if [[ -z "$server" ]]; then
    echo "rabbitmq.sh: RabbitMQ is not installed (apt-get install rabbitmq-server)" >&2
    exit 1
fi

export HOME="$base"
export RABBITMQ_MNESIA_BASE="$base/mnesia"
export RABBITMQ_LOG_BASE="$base/log"
export RABBITMQ_NODENAME="$node"
export RABBITMQ_NODE_PORT="$port"
export RABBITMQ_DIST_PORT=$((port + 20000))
export RABBITMQ_PID_FILE="$base/rabbitmq.pid"
export RABBITMQ_CONFIG_FILE="$base/rabbitmq"
export RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins"
export RABBITMQ_ENABLED_PLUGINS=""

ctl() { "$server/rabbitmqctl" -n "$node" "$@"; }

# A private CA and a server certificate for localhost (and 127.0.0.1), for the TLS listener.
make_certificates() {
    local tls="$base/tls"
    [[ -f "$tls/server.pem" ]] && return
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Gradeline test CA" \
        -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
    printf "subjectAltName=DNS:localhost,IP:127.0.0.1\n" > "$tls/san.ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 30 \
        -extfile "$tls/san.ext" -out "$tls/server.pem" 2>/dev/null
    chmod 644 "$tls"/*
}

start() {
    mkdir -p "$base/log" "$base/mnesia"
    [[ -f "$base/enabled_plugins" ]] || echo "[]." > "$base/enabled_plugins"
    # Quiet logs, and a disk alarm threshold a small test machine does not trip.
    cat > "$base/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$port
disk_free_limit.absolute = 50MB
log.file.level = warning
log.console = false
CONF
    if [[ -n "$tls_port" ]]; then
        make_certificates
        cat >> "$base/rabbitmq.conf" <<CONF
listeners.ssl.default = 127.0.0.1:$tls_port
ssl_options.cacertfile = $base/tls/ca.pem
ssl_options.certfile = $base/tls/server.pem
ssl_options.keyfile = $base/tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
CONF
    fi
    if ctl status >/dev/null 2>&1; then
        echo "rabbitmq.sh: $node is already running on port $port"
        return
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "rabbitmq.sh: port $port is taken by another process (another broker node?); stop it or pick another port" >&2
        exit 1
    fi
    # Started from its own folder, so that a crash dump lands there and not in the checkout.
    (cd "$base" && exec "$server/rabbitmq-server" > "$base/log/server.out" 2>&1) &
    if ! timeout 90 "$server/rabbitmqctl" -n "$node" wait "$RABBITMQ_PID_FILE" >/dev/null 2>&1; then
        echo "rabbitmq.sh: $node did not start; see $base/log/" >&2
        tail -20 "$base/log/server.out" >&2 || true
        exit 1
    fi
    echo "rabbitmq.sh: $node is up on amqp://guest:guest@127.0.0.1:$port"
}

stop() {
    if ctl status >/dev/null 2>&1; then
        ctl stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || true
        echo "rabbitmq.sh: $node stopped"
    fi
}

case "$command" in
    start) start ;;
    stop) stop ;;
    restart) stop; start ;;
    status) ctl status >/dev/null 2>&1 && echo "running" || { echo "stopped"; exit 1; } ;;
    ctl) shift 3; ctl "$@" ;;
    env)
        echo "export GRADELINE_AMQP_URL=amqp://guest:guest@127.0.0.1:$port/"
        echo "export GRADELINE_RABBITMQ_NODE=$node"
        echo "export GRADELINE_RABBITMQ_HOME=$base"
        echo "export GRADELINE_RABBITMQCTL=$server/rabbitmqctl"
        if [[ -n "$tls_port" ]]; then
            echo "export GRADELINE_AMQPS_URL=amqps://guest:guest@localhost:$tls_port/"
            echo "export GRADELINE_AMQP_CACERT=$base/tls/ca.pem"
        fi
        ;;
    *) echo "usage: rabbitmq.sh start|stop|restart|status|env [NAME] [PORT] [TLS_PORT], ctl NAME PORT ARGS..., or cluster start|stop|env [NAME] [BASE_PORT]" >&2; exit 2 ;;
esac
