#!/usr/bin/env bash
# bench.sh: `make bench`. Builds the binaries, runs the micro-benchmarks, then
# starts a fresh Kafka broker of its own (deployments/local/with-kafka.sh, own
# port and data dir, stopped whatever happens) and runs the system benchmarks
# against it with the real binaries as separate processes:
#   (a) ingester alone at maximum rate from tetragon-sim (fills the raw topic)
#   (b) fanout over the pre-filled raw topic (memory, then LevelDB table)
#   (e) one fanout replica against two on the same topic
#   (c) the whole pipeline at fixed rates: end-to-end latency p50/p99/p999
#   (d) table recovery of one partition, memory vs LevelDB
#   (f) the ingester at a node's rates (BENCH_NODE_RATES) for each candidate setting:
#       CPU and context switches per event, latency from the event's time; a burst
# with CPU and allocation profiles of both hot paths. Prints a table and
# writes it to $BENCH_OUT/results.md (default .local/bench/results.md).
# The orchestration is fanout/internal/benchrun (go doc it).
#
# Settings (environment):
#   BENCH_QUICK=1       a quick run (~4 min): 100k events, one micro run, short windows
#   BENCH_EVENTS        distinct events in the raw topic and entries of the recovered
#                       table (default 1000000; quick 100000)
#   BENCH_COUNT         micro-benchmark runs (-count; default 5, quick 1)
#   BENCH_TIME          micro-benchmark -benchtime (default 500ms, quick 100ms)
#   BENCH_RATES         end-to-end offered rates (default 1000,5000,10000,20000: 1000 is a
#                       node's rate, where the ingester's batches are smallest)
#   BENCH_E2E_WINDOW    measured window per rate (default 30s, quick 10s)
#   BENCH_NODE_RATES    rates of (f) (default 100,1000,5000,20000)
#   BENCH_ONLY          micro | system (default both)
#   BENCH_SCENARIOS     system scenarios: ingest,fanout,e2e,recovery,node (default all)
#   BENCH_OUT           output directory (default <repo>/.local/bench; wiped first)
#   BENCH_KAFKA_PORT    broker port (default 20100; controller port +1)
#   BENCH_NICE          nice level of the whole run (default 0)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO_ROOT"

die() {
	echo "bench.sh: $*" >&2
	exit 2
}
log() { echo "bench.sh: $*" >&2; }

QUICK=${BENCH_QUICK:-0}
case $QUICK in 0 | 1) ;; *) die "BENCH_QUICK=$QUICK: want 0 or 1" ;; esac
if [[ $QUICK == 1 ]]; then
	d_events=100000 d_count=1 d_time=100ms d_window=10s d_warm=3s d_prof=5 extra=(-linger-check=false -codecs= -node-quick -node-window 10s -node-warmup 3s)
else
	d_events=1000000 d_count=5 d_time=500ms d_window=30s d_warm=5s d_prof=10 extra=()
fi
EVENTS=${BENCH_EVENTS:-$d_events}
COUNT=${BENCH_COUNT:-$d_count}
BTIME=${BENCH_TIME:-$d_time}
RATES=${BENCH_RATES:-1000,5000,10000,20000}
WINDOW=${BENCH_E2E_WINDOW:-$d_window}
NODE_RATES=${BENCH_NODE_RATES:-100,1000,5000,20000}
ONLY=${BENCH_ONLY:-}
SCENARIOS=${BENCH_SCENARIOS:-}
OUT=${BENCH_OUT:-$REPO_ROOT/.local/bench}
PORT=${BENCH_KAFKA_PORT:-20100}
NICE=${BENCH_NICE:-0}

[[ $EVENTS =~ ^[0-9]+$ && $EVENTS -ge 1000 ]] || die "BENCH_EVENTS=$EVENTS: want a whole number >= 1000"
[[ $COUNT =~ ^[0-9]+$ && $COUNT -ge 1 ]] || die "BENCH_COUNT=$COUNT: want a whole number >= 1"
[[ $PORT =~ ^[0-9]+$ ]] || die "BENCH_KAFKA_PORT=$PORT: want a port"
[[ $NICE =~ ^-?[0-9]+$ ]] || die "BENCH_NICE=$NICE: want a nice level"
case $ONLY in "" | micro | system) ;; *) die "BENCH_ONLY=$ONLY: want micro or system" ;; esac
case $OUT in / | "$HOME" | "$REPO_ROOT") die "BENCH_OUT=$OUT: refusing to wipe it" ;; esac
command -v go >/dev/null || die "missing: go"

if [[ $NICE != 0 ]]; then
	renice -n "$NICE" $$ >/dev/null
fi

cmdline="make bench"
for v in BENCH_QUICK BENCH_EVENTS BENCH_COUNT BENCH_TIME BENCH_RATES BENCH_E2E_WINDOW BENCH_NODE_RATES BENCH_ONLY BENCH_SCENARIOS; do
	[[ -n ${!v:-} ]] && cmdline="$v=${!v} $cmdline"
done
log "$cmdline: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; output in $OUT"
started=$(date +%s)

# A broker left by an interrupted run would hold the port once its pid file is gone.
if [[ -d $OUT/kafka ]]; then
	KAFKA_DATA_DIR=$OUT/kafka "$SCRIPT_DIR/kafka.sh" stop >/dev/null 2>&1 || true
fi
rm -rf "$OUT"
mkdir -p "$OUT/bin"
BIN=$OUT/bin
log "building ingester, fanout, tetragon-sim, benchrun"
go build -o "$BIN/ingester" ./ingester/cmd/ingester
go build -o "$BIN/fanout" ./fanout/cmd/fanout
go build -o "$BIN/tetragon-sim" ./shared/cmd/tetragon-sim
go build -o "$BIN/benchrun" ./fanout/internal/benchrun

if [[ $ONLY != system ]]; then
	log "micro-benchmarks: -count $COUNT -benchtime $BTIME"
	# -short: the benchmarks that need a broker skip; they belong to the system runs.
	flags=(-run '^$' -bench . -benchmem -short -count "$COUNT" -benchtime "$BTIME")
	{
		(cd shared && env -u KAFKA_BROKERS go test "${flags[@]}" ./eventid)
		(cd ingester && env -u KAFKA_BROKERS go test "${flags[@]}" ./pipeline)
		(cd fanout && env -u KAFKA_BROKERS go test "${flags[@]}" ./normalize ./dedup ./route ./processor ./commit ./topics)
	} 2>&1 | tee "$OUT/micro.txt" | grep -E '^(Benchmark|ok|FAIL|---)' >&2
	"$BIN/benchrun" micro -in "$OUT/micro.txt" -out "$OUT"
fi

if [[ $ONLY != micro ]]; then
	log "system benchmarks on a fresh broker at 127.0.0.1:$PORT (data $OUT/kafka)"
	KAFKA_PORT=$PORT KAFKA_CONTROLLER_PORT=$((PORT + 1)) KAFKA_DATA_DIR=$OUT/kafka \
		"$SCRIPT_DIR/with-kafka.sh" "$BIN/benchrun" system -out "$OUT" -bin "$BIN" \
		-events "$EVENTS" -rates "$RATES" -e2e-window "$WINDOW" -e2e-warmup "$d_warm" \
		-profile-seconds "$d_prof" -node-rates "$NODE_RATES" -only "$SCENARIOS" "${extra[@]}"
fi

"$BIN/benchrun" report -dir "$OUT" -command "$cmdline"
log "done in $(($(date +%s) - started)) s; load average $(cut -d' ' -f1-3 /proc/loadavg); results in $OUT/results.md"
