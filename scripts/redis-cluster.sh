#!/usr/bin/env bash
# A Redis Cluster on this machine, for `npm run test:cluster` and for trying certharvest on a
# cluster: 6 nodes on 127.0.0.1 (3 masters, 3 replicas), client ports 7001-7006 and cluster bus
# ports 17001-17006. Both stay below 32768: ports in Linux's ephemeral range (32768-60999) collide
# with the TIME-WAIT sockets of the tests' own connections. Each node keeps its files (AOF,
# nodes.conf, log) in its own folder under /tmp/certharvest-redis-cluster/, runs with
# `maxmemory-policy noeviction` and `appendonly yes`, as the doctor asks of a production Redis,
# and with `cluster-node-timeout 2000`: a dead master's replica takes over in a few seconds.
#
#   scripts/redis-cluster.sh start            start the nodes and create the cluster (reused when up)
#   scripts/redis-cluster.sh stop             stop every node and remove the folders
#   scripts/redis-cluster.sh status           `CLUSTER NODES` as one node sees it
#   scripts/redis-cluster.sh start-node PORT  start a stopped node again (it rejoins as a replica)
#
# Then: REDIS_URL=redis://127.0.0.1:7001 REDIS_CLUSTER=true QUEUE_PREFIX={certharvest}
# Needs redis-server and redis-cli 6.2 or newer (`scripts/setup.sh` installs Debian's redis-server,
# which brings redis-cli). REDIS_CLUSTER_DIR and REDIS_CLUSTER_PORT (the first port) move it.
set -euo pipefail

first_port=${REDIS_CLUSTER_PORT:-7001}
dir=${REDIS_CLUSTER_DIR:-/tmp/certharvest-redis-cluster}
ports=()
for i in 0 1 2 3 4 5; do ports+=($((first_port + i))); done
(( first_port + 5 + 10000 < 32768 )) || { echo "redis-cluster: REDIS_CLUSTER_PORT too high: bus ports must stay below 32768" >&2; exit 2; }

say() { printf 'redis-cluster: %s\n' "$*"; }
die() { printf 'redis-cluster: error: %s\n' "$*" >&2; exit 2; }
cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }
answers() { [ "$(cli "$1" ping 2>/dev/null)" = PONG ]; }
cluster_ok() { cli "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

start_node() {
  local port=$1
  mkdir -p "$dir/$port"
  # The bus port is the client port + 10000 (Redis's default); cluster-port would need Redis 7.
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
    --appendonly yes --maxmemory-policy noeviction \
    --daemonize yes --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log"
}

wait_until() {
  local what=$1 tries=$2
  shift 2
  for ((i = 0; i < tries; i++)); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  die "$what (logs: $dir/*/redis.log)"
}

all_answer() { for p in "${ports[@]}"; do answers "$p" || return 1; done; }
all_ok() { for p in "${ports[@]}"; do cluster_ok "$p" || return 1; done; }

cmd_start() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null \
    || die "redis-server and redis-cli are needed (Debian: apt-get install redis-server; or run scripts/setup.sh)"
  if all_answer && all_ok; then
    say "already running on 127.0.0.1:${ports[0]}-${ports[5]}"
    return 0
  fi
  for p in "${ports[@]}"; do
    if answers "$p"; then die "port $p already has a Redis that is not this cluster: run '$0 stop' or free the port"; fi
  done
  rm -rf "$dir"
  for p in "${ports[@]}"; do start_node "$p"; done
  wait_until "the nodes did not start" 100 all_answer
  local nodes=()
  for p in "${ports[@]}"; do nodes+=("127.0.0.1:$p"); done
  cli "${ports[0]}" --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 \
    || { cat "$dir/create.log" >&2; die "redis-cli --cluster create failed"; }
  wait_until "the cluster did not reach cluster_state:ok" 300 all_ok
  say "up: 3 masters, 3 replicas on 127.0.0.1:${ports[0]}-${ports[5]} (bus $((ports[0] + 10000))-$((ports[5] + 10000))), files in $dir"
}

cmd_stop() {
  for p in "${ports[@]}"; do
    local pidfile="$dir/$p/redis.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
    fi
  done
  for p in "${ports[@]}"; do
    local pidfile="$dir/$p/redis.pid"
    for ((i = 0; i < 50; i++)); do
      [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile" 2>/dev/null || echo 0)" 2>/dev/null || break
      sleep 0.1
    done
  done
  rm -rf "$dir"
  say "stopped"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) for p in "${ports[@]}"; do if answers "$p"; then cli "$p" cluster nodes; exit 0; fi; done; die "no node answers" ;;
  start-node)
    [ -n "${2:-}" ] && [ -d "$dir/$2" ] || die "usage: $0 start-node PORT (a node of this cluster)"
    answers "$2" && { say "node $2 already runs"; exit 0; }
    start_node "$2"
    wait_until "node $2 did not start" 100 answers "$2"
    say "node $2 started again"
    ;;
  *) die "usage: $0 start|stop|status|start-node PORT" ;;
esac
