#!/usr/bin/env bash
# demo.sh (`make demo`): the whole pipeline on this machine, without Docker, with a
# live summary in the terminal until Ctrl-C.
#
# Starts, in order: a fresh local Kafka broker (kafka.sh), tetragon-sim streaming a
# realistic synthetic load (every event type, ten namespaces, some duplicates), two
# fanout replicas with the example routes (deployments/local/routes.demo.yaml: the
# payments and checkout namespaces get their own topics, kube-system kprobes are
# sampled at 10%), and one ingester. Then it runs demotop (fanout/internal/demotop),
# which reads the components' /metrics and Kafka every second and explains every
# number it shows. Ctrl-C stops everything the demo started, in order (ingester,
# simulator, fanouts, Kafka), and prints where the logs are.
#
# Settings (environment):
#   DEMO_RATE         distinct events per second from the simulator (default 3000)
#   DEMO_DUP_RATIO    share of events the simulator sends twice (default 0.05)
#   DEMO_NAMESPACES   simulated namespaces (default 10)
#   DEMO_PORT_BASE    first of five local ports: simulator gRPC, simulator metrics,
#                     ingester, fanout-1, fanout-2 HTTP (default 18080)
#   DEMO_DIR          logs, state and the demo's Kafka data (default <repo>/.local/demo)
#   ROUTES_FILE       routes for the fanouts (default deployments/local/routes.demo.yaml)
#   KAFKA_PORT        port of the demo's broker (default 9092; its controller: +1000)
#   KAFKA_BROKERS     use this running Kafka instead of starting one (nothing is
#                     deleted from it; the demo's topics are tetragon.*)
#   RAW_TOPIC_PARTITIONS  partitions of tetragon.raw (default 12)
#
# Needs Go, Java 17+ and Maven (the Kafka jars are fetched once), curl.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
KAFKA_SH=$SCRIPT_DIR/kafka.sh

RATE=${DEMO_RATE:-3000}
DUP_RATIO=${DEMO_DUP_RATIO:-0.05}
NAMESPACES=${DEMO_NAMESPACES:-10}
PORT_BASE=${DEMO_PORT_BASE:-18080}
DEMO_DIR=${DEMO_DIR:-$REPO_ROOT/.local/demo}
ROUTES=${ROUTES_FILE:-$SCRIPT_DIR/routes.demo.yaml}
PARTITIONS=${RAW_TOPIC_PARTITIONS:-12}
LOG_DIR=$DEMO_DIR/logs

say() { echo "demo: $*" >&2; }
die() {
	echo "demo: $*" >&2
	exit 2
}

[[ $PORT_BASE =~ ^[0-9]+$ ]] && ((PORT_BASE > 0 && PORT_BASE + 4 < 65536)) ||
	die "DEMO_PORT_BASE=$PORT_BASE: want a port number (five ports from it are used)"
[[ $PARTITIONS =~ ^[0-9]+$ ]] && ((PARTITIONS >= 1)) || die "RAW_TOPIC_PARTITIONS=$PARTITIONS: want a positive number"
[[ -f $ROUTES ]] || die "ROUTES_FILE=$ROUTES: no such file"
command -v go >/dev/null || die "missing: go (see go.work for the version)"
command -v curl >/dev/null || die "missing: curl"

SIM_GRPC=127.0.0.1:$PORT_BASE
SIM_HTTP=127.0.0.1:$((PORT_BASE + 1))
ING_HTTP=127.0.0.1:$((PORT_BASE + 2))
F1_HTTP=127.0.0.1:$((PORT_BASE + 3))
F2_HTTP=127.0.0.1:$((PORT_BASE + 4))
for p in $(seq "$PORT_BASE" $((PORT_BASE + 4))); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		die "port $p is in use; pick other ports with DEMO_PORT_BASE"
	fi
done

# --- build ----------------------------------------------------------------------

say "building the binaries (make build) and the summary (demotop)"
make -C "$REPO_ROOT" --no-print-directory build >&2
mkdir -p "$DEMO_DIR/bin" "$LOG_DIR"
(cd "$REPO_ROOT" && go build -o "$DEMO_DIR/bin/demotop" ./fanout/internal/demotop)
BIN=$REPO_ROOT/bin

# --- processes ------------------------------------------------------------------

declare -A PIDS=()
STARTED_KAFKA=0
export KAFKA_DATA_DIR=$DEMO_DIR/kafka

# start NAME CMD...: run in the background, in its own session so the terminal's
# Ctrl-C reaches only this script and demotop; we stop the children in order.
start() {
	local name=$1
	shift
	local -a pre=()
	command -v setsid >/dev/null && pre=(setsid)
	"${pre[@]}" "$@" </dev/null >"$LOG_DIR/$name.log" 2>&1 &
	PIDS[$name]=$!
}

# stop_procs SECONDS NAME...: SIGTERM them all, wait for each (they stop in
# parallel), SIGKILL whatever is left after SECONDS.
stop_procs() {
	local timeout=$1 name pid rc
	shift
	local -a names=()
	for name in "$@"; do
		pid=${PIDS[$name]:-}
		[[ -n $pid ]] || continue
		names+=("$name")
		kill -TERM "$pid" 2>/dev/null || true
	done
	local deadline=$((SECONDS + timeout))
	for name in "${names[@]}"; do
		pid=${PIDS[$name]}
		while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
		if kill -0 "$pid" 2>/dev/null; then
			say "$name did not stop within ${timeout}s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rc=0
		wait "$pid" 2>/dev/null || rc=$?
		unset "PIDS[$name]"
		if ((rc == 0)); then
			say "stopped $name"
		else
			say "$name exited with status $rc: see $LOG_DIR/$name.log"
		fi
	done
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	echo >&2
	say "stopping what the demo started"
	# The ingester first (it flushes what it received), then the simulator,
	# then the fanouts (they finish and commit what is in flight).
	stop_procs 25 ingester
	stop_procs 10 tetragon-sim
	stop_procs 70 fanout-1 fanout-2
	if ((STARTED_KAFKA)); then
		if "$KAFKA_SH" stop >/dev/null 2>&1; then
			say "stopped Kafka"
		else
			say "stopping Kafka failed: see $KAFKA_DATA_DIR/node-1/server.log"
		fi
	fi
	say "logs: $LOG_DIR/{tetragon-sim,ingester,fanout-1,fanout-2}.log"
	if ((STARTED_KAFKA)); then
		say "Kafka's log: $KAFKA_DATA_DIR/node-1/server.log (its data stays until the next demo)"
	fi
	exit "$rc"
}
trap cleanup EXIT
# Ctrl-C is how the demo ends: after the cleanup that is a success.
trap 'exit 0' INT
trap 'exit 143' TERM

# wait_http NAME URL SECONDS: until the URL answers.
wait_http() {
	local name=$1 url=$2 timeout=$3
	for ((i = 0; i < timeout * 4; i++)); do
		curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
		if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
			tail -n 20 "$LOG_DIR/$name.log" >&2
			die "$name exited during start-up (log: $LOG_DIR/$name.log)"
		fi
		sleep 0.25
	done
	tail -n 20 "$LOG_DIR/$name.log" >&2
	die "$name did not answer on $url within ${timeout}s (log: $LOG_DIR/$name.log)"
}

# --- Kafka ----------------------------------------------------------------------

if [[ -n ${KAFKA_BROKERS:-} ]]; then
	say "using the running Kafka at KAFKA_BROKERS=$KAFKA_BROKERS"
else
	# A fresh broker every time: the summary then counts this run only.
	"$KAFKA_SH" stop >/dev/null 2>&1 || true
	rm -rf "$KAFKA_DATA_DIR"
	export KAFKA_PORT=${KAFKA_PORT:-9092}
	say "starting Kafka on 127.0.0.1:$KAFKA_PORT (data: $KAFKA_DATA_DIR)"
	STARTED_KAFKA=1
	KAFKA_OWNER_PID=$$ "$KAFKA_SH" start >&2
	KAFKA_BROKERS=$("$KAFKA_SH" brokers)
fi

# --- the pipeline ---------------------------------------------------------------

common=(KAFKA_BROKERS="$KAFKA_BROKERS" LOG_FORMAT=text LOG_LEVEL=info)

start tetragon-sim "$BIN/tetragon-sim" --listen "$SIM_GRPC" --metrics-addr "$SIM_HTTP" \
	--rate "$RATE" --dup-ratio "$DUP_RATIO" --namespaces "$NAMESPACES"
wait_http tetragon-sim "http://$SIM_HTTP/metrics" 30

for n in 1 2; do
	http=$F1_HTTP
	((n == 2)) && http=$F2_HTTP
	start "fanout-$n" env "${common[@]}" HTTP_ADDR="$http" REPLICA_ID="fanout-$n" \
		STATE_DIR="$DEMO_DIR/state" ROUTES_FILE="$ROUTES" RAW_TOPIC_WAIT_BACKOFF_MAX=2s \
		OUTPUT_TOPIC_PARTITIONS=3 "$BIN/fanout"
done
for n in 1 2; do
	http=$F1_HTTP
	((n == 2)) && http=$F2_HTTP
	wait_http "fanout-$n" "http://$http/healthz" 30
done

start ingester env "${common[@]}" HTTP_ADDR="$ING_HTTP" TETRAGON_ADDR="$SIM_GRPC" \
	NODE_NAME=demo-node RAW_TOPIC_PARTITIONS="$PARTITIONS" "$BIN/ingester"
wait_http ingester "http://$ING_HTTP/readyz" 60

say "running: tetragon-sim -> ingester -> Kafka $KAFKA_BROKERS -> fanout-1, fanout-2 (logs in $LOG_DIR)"
say "read the outputs yourself, e.g.: kcat -b $KAFKA_BROKERS -C -t tetragon.payments.process_exec -o -3 -e"
sleep 1

# demotop runs in the foreground: Ctrl-C stops it, then cleanup stops the rest.
dup_pct=$(awk -v r="$DUP_RATIO" 'BEGIN { printf "%g", r * 100 }')
title="tetragon-sim ($RATE events/s, ${dup_pct}% sent twice, $NAMESPACES namespaces) -> ingester -> Kafka $KAFKA_BROKERS -> fanout-1, fanout-2 · routes: ${ROUTES#"$REPO_ROOT"/}"
"$DEMO_DIR/bin/demotop" --brokers "$KAFKA_BROKERS" --title "$title" \
	--sim "http://$SIM_HTTP" --ingester "http://$ING_HTTP" \
	--fanout "fanout-1=http://$F1_HTTP" --fanout "fanout-2=http://$F2_HTTP" || true
