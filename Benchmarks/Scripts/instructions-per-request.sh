#!/usr/bin/env bash
# Instructions each node spends per request, counted by callgrind: repeatable where timings are not.
#
#   Benchmarks/Scripts/instructions-per-request.sh [LOCKSTEP_BINARY] [REQUESTS] [CONNECTIONS] [COMMAND] [PIPELINE]
#
# Starts a pair (node a, then b) under valgrind, warms it up, zeroes the counters, sends REQUESTS of COMMAND
# (default: 20000 SETs over 1 connection, one in flight on each) with redis-benchmark, PIPELINE requests in flight
# on each connection, and prints the instructions per request of each
# node. Needs valgrind and redis-tools. Timed work (status publication, counters refresh: once a millisecond)
# runs far more often per request under valgrind than at full speed, so compare builds with each other, not
# with wall-clock profiles.
set -euo pipefail
binary=${1:-.build/release/lockstep}
requests=${2:-20000}
connections=${3:-1}
command=${4:-set}
pipeline=${5:-1}
directory=$(mktemp -d)
mkdir "$directory/arbiter"
(umask 077 && head -c 32 /dev/urandom >"$directory/cluster-secret")  # both nodes must hold the same secret
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done; rm -rf "$directory"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
client_a=$(free_port); client_b=$(free_port); channel_a=$(free_port); channel_b=$(free_port)
# Under valgrind everything is about 50 times slower: give the heartbeats room. No polling before sleep: a poll
# spins for its wall-clock budget, which under valgrind is thousands of instructions that do no work.
common=(--arbiter "$directory/arbiter" --cluster-secret-file "$directory/cluster-secret" --heartbeat 500 --timeout 5000 --poll-us 0)
valgrind --tool=callgrind --callgrind-out-file="$directory/a.%p.out" "$binary" node --name a \
    --client "127.0.0.1:$client_a" --channel "127.0.0.1:$channel_a" --peer "127.0.0.1:$channel_b" "${common[@]}" \
    >/dev/null 2>"$directory/a.log" &
pids+=($!); disown
sleep 3  # a takes epoch 1 first, so a is the primary
valgrind --tool=callgrind --callgrind-out-file="$directory/b.%p.out" "$binary" node --name b \
    --client "127.0.0.1:$client_b" --channel "127.0.0.1:$channel_b" --peer "127.0.0.1:$channel_a" "${common[@]}" \
    >/dev/null 2>"$directory/b.log" &
pids+=($!); disown
for _ in $(seq 120); do
    redis-cli -p "$client_a" INFO replication 2>/dev/null | grep -q 'lockstep_peer_state:connected' && break
    sleep 0.5
done
redis-cli -p "$client_a" INFO replication | grep -q 'lockstep_peer_state:connected' \
    || { echo "the pair did not connect; logs in $directory" >&2; exit 1; }
warm_up=$command
[ "$command" = set ] || warm_up="set,$command"  # a GET then finds its key
redis-benchmark -p "$client_a" -c "$connections" -P "$pipeline" -n 2000 -t "$warm_up" -q >/dev/null 2>&1
for pid in "${pids[@]}"; do callgrind_control --zero "$pid" >/dev/null 2>&1; done
redis-benchmark -p "$client_a" -c "$connections" -P "$pipeline" -n "$requests" -t "$command" -q 2>/dev/null | tr '\r' '\n' \
    | grep 'requests per second' || true
for pid in "${pids[@]}"; do callgrind_control --dump "$pid" >/dev/null 2>&1; done
sleep 1
# PROFILES=DIRECTORY keeps the callgrind files there, for callgrind_annotate.
[ -z "${PROFILES:-}" ] || { mkdir -p "$PROFILES"; cp "$directory"/[ab].*.out* "$PROFILES"/; }
for node in a b; do
    total=0
    for file in "$directory/$node".*.out.*; do
        count=$(awk '/^summary:|^totals:/ { print $2; exit }' "$file")
        total=$((total + ${count:-0}))
    done
    echo "node $node: $((total / requests)) instructions per $command ($connections connection(s) × $pipeline in flight, $requests requests)"
done
