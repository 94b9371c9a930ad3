#!/usr/bin/env bash
# kafka.sh: run a real Apache Kafka (KRaft, combined broker+controller) on 127.0.0.1
# from the official jars on Maven Central. No Docker, no tarball: Maven resolves the
# jars once into a cache outside the repo, then every start is a plain `java -cp`.
#
# Usage: kafka.sh start [NODE] | stop [NODE] | kill NODE | status | brokers
#
# Settings (environment):
#   KAFKA_DATA_DIR        data dir of this cluster (default <repo>/.local/kafka/data).
#                         Two data dirs = two independent clusters.
#   KAFKA_PORT            client port of node 1 (default 9092); node N listens on PORT+N-1.
#   KAFKA_CONTROLLER_PORT controller port of node 1 (default KAFKA_PORT+1000).
#   KAFKA_NODES           1 (default) or 3: three brokers forming a three-voter quorum.
#   KAFKA_HEAP            max heap per broker JVM (default 1g).
#   KAFKA_CACHE_DIR       jar cache (default ~/.cache/tetragon-fanout/kafka-<version>).
#   KAFKA_START_TIMEOUT   seconds to wait for the broker to answer (default 120).
#   KAFKA_STOP_TIMEOUT    seconds to wait for a clean shutdown before SIGKILL (default 60).
#   KAFKA_SECURITY        plaintext (default). sasl_ssl is reserved for the security issue.
#   KAFKA_OWNER_PID       if set, a watchdog stops the brokers when that process exits
#                         (tests pass their own pid so a killed test run leaks no broker).
#
# Ports, node count and cluster id are recorded in the data dir at first start, so
# later commands on that data dir need only KAFKA_DATA_DIR.
#
# Exit codes: 0 ok, 1 failure (status: some node down), 2 bad setting or missing
# tool, 3 a port is already in use.
set -euo pipefail

# KAFKA_VERSION must match shared/kafkaversion (the sarama version string the binaries
# default to). LOG4J_VERSION is the log4j2 that kafka 4.1.1 depends on; Kafka logs
# through slf4j 1.7, so the binding is log4j-slf4j-impl (not log4j-slf4j2-impl).
readonly KAFKA_VERSION=4.1.1
readonly LOG4J_VERSION=2.24.3
readonly DEPENDENCY_PLUGIN_VERSION=3.8.1

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)

die() {
	local code=$1
	shift
	echo "kafka.sh: $*" >&2
	exit "$code"
}
log() { echo "kafka.sh: $*" >&2; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

abs_path() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$PWD/$1" ;;
	esac
}

CACHE_DIR=$(abs_path "${KAFKA_CACHE_DIR:-$HOME/.cache/tetragon-fanout/kafka-$KAFKA_VERSION}")
LIB_DIR=$CACHE_DIR/libs
DATA_DIR=$(abs_path "${KAFKA_DATA_DIR:-$REPO_ROOT/.local/kafka/data}")
LAYOUT_FILE=$DATA_DIR/cluster.env
HEAP=${KAFKA_HEAP:-1g}
START_TIMEOUT=${KAFKA_START_TIMEOUT:-120}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-60}
SECURITY=${KAFKA_SECURITY:-plaintext}

is_uint "$START_TIMEOUT" || die 2 "KAFKA_START_TIMEOUT=$START_TIMEOUT: want whole seconds"
is_uint "$STOP_TIMEOUT" || die 2 "KAFKA_STOP_TIMEOUT=$STOP_TIMEOUT: want whole seconds"
[[ $HEAP =~ ^[0-9]+[kKmMgG]$ ]] || die 2 "KAFKA_HEAP=$HEAP: want a JVM size such as 512m or 1g"

# Security hook: the listener section of server.properties and the client check are the
# only places that depend on it. The security issue adds sasl_ssl here.
case $SECURITY in
plaintext) ;;
sasl_ssl) die 2 "KAFKA_SECURITY=sasl_ssl is not implemented yet (planned with the security issue)" ;;
*) die 2 "KAFKA_SECURITY=$SECURITY: want plaintext" ;;
esac

# --- tools -----------------------------------------------------------------

check_java() {
	command -v java >/dev/null 2>&1 ||
		die 2 "missing: java (Java 17+ is needed; Debian: apt-get install openjdk-17-jre-headless)"
	local v major
	v=$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)
	major=${v%%.*}
	[[ $major == 1 ]] && major=$(echo "$v" | cut -d. -f2)
	is_uint "${major:-x}" || die 2 "cannot read the Java version from 'java -version' (got '$v')"
	((major >= 17)) || die 2 "missing: Java 17+ (found Java $v at $(command -v java))"
}

check_maven() {
	command -v mvn >/dev/null 2>&1 ||
		die 2 "missing: mvn (Maven fetches the Kafka jars once into $CACHE_DIR; Debian: apt-get install maven)"
}

# with_lock FILE CMD...: serialize concurrent runs (parallel tests share the jar cache).
with_lock() {
	local file=$1
	shift
	if command -v flock >/dev/null 2>&1; then
		(
			flock 9
			"$@"
		) 9>"$file"
	else
		"$@"
	fi
}

# --- jars --------------------------------------------------------------------

fetch_jars() {
	[[ -f $LIB_DIR/.complete ]] && return 0
	check_maven
	log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIB_DIR (once)"
	local work=$CACHE_DIR/fetch.$$
	rm -rf "$work"
	mkdir -p "$work/libs"
	cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.tetragon-fanout</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>$DEPENDENCY_PLUGIN_VERSION</version>
      </plugin>
    </plugins>
  </build>
</project>
EOF
	if ! (cd "$work" && mvn -q -B dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$work/libs") >"$work/mvn.log" 2>&1; then
		tail -n 30 "$work/mvn.log" >&2
		die 1 "maven could not fetch the Kafka jars (log: $work/mvn.log)"
	fi
	[[ -f $work/libs/kafka_2.13-$KAFKA_VERSION.jar ]] || die 1 "kafka_2.13-$KAFKA_VERSION.jar missing after fetch ($work/libs)"
	rm -rf "$LIB_DIR"
	mv "$work/libs" "$LIB_DIR"
	cp "$work/pom.xml" "$CACHE_DIR/pom.xml"
	rm -rf "$work"
	touch "$LIB_DIR/.complete"
	log "cached $(find "$LIB_DIR" -name '*.jar' | wc -l) jars"
}

ensure_jars() {
	[[ -f $LIB_DIR/.complete ]] && return 0
	mkdir -p "$CACHE_DIR"
	with_lock "$CACHE_DIR/.lock" fetch_jars
}

# Short-lived tool JVMs: small heap, C1 only, which halves their start time.
TOOL_JAVA=(java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
	"-Dlog4j2.configurationFile=$CACHE_DIR/log4j2-tools.xml" -cp "$LIB_DIR/*")

write_tool_log_config() {
	[[ -f $CACHE_DIR/log4j2-tools.xml ]] && return 0
	cat >"$CACHE_DIR/log4j2-tools.xml.$$" <<'EOF'
<Configuration status="warn">
  <Appenders>
    <Console name="stderr" target="SYSTEM_ERR">
      <PatternLayout pattern="%p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="stderr"/></Root>
  </Loggers>
</Configuration>
EOF
	mv "$CACHE_DIR/log4j2-tools.xml.$$" "$CACHE_DIR/log4j2-tools.xml"
}

# --- cluster layout ----------------------------------------------------------

# load_layout: NODES, PORT, CONTROLLER_PORT, CLUSTER_ID from the data dir if it was
# started before, else from the environment. A conflicting setting is an error rather
# than a silently different cluster.
load_layout() {
	local s_nodes="" s_port="" s_cport="" s_cid=""
	if [[ -f $LAYOUT_FILE ]]; then
		# shellcheck disable=SC1090
		s_nodes=$(. "$LAYOUT_FILE" && echo "$NODES")
		s_port=$(. "$LAYOUT_FILE" && echo "$PORT")
		s_cport=$(. "$LAYOUT_FILE" && echo "$CONTROLLER_PORT")
		s_cid=$(. "$LAYOUT_FILE" && echo "$CLUSTER_ID")
	fi
	NODES=${KAFKA_NODES:-${s_nodes:-1}}
	PORT=${KAFKA_PORT:-${s_port:-9092}}
	is_uint "$PORT" && ((PORT > 0 && PORT < 65534)) || die 2 "KAFKA_PORT=$PORT: want a TCP port"
	CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-${s_cport:-$((PORT + 1000))}}
	is_uint "$CONTROLLER_PORT" && ((CONTROLLER_PORT > 0 && CONTROLLER_PORT < 65534)) ||
		die 2 "KAFKA_CONTROLLER_PORT=$CONTROLLER_PORT: want a TCP port"
	case $NODES in
	1 | 3) ;;
	*) die 2 "KAFKA_NODES=$NODES: want 1 or 3" ;;
	esac
	if ((CONTROLLER_PORT < PORT + NODES && PORT < CONTROLLER_PORT + NODES)); then
		die 2 "KAFKA_CONTROLLER_PORT=$CONTROLLER_PORT overlaps the client ports $PORT..$((PORT + NODES - 1))"
	fi
	if [[ -n $s_nodes ]]; then
		[[ $NODES == "$s_nodes" && $PORT == "$s_port" && $CONTROLLER_PORT == "$s_cport" ]] ||
			die 2 "$DATA_DIR holds a cluster of $s_nodes node(s) on port $s_port (controller $s_cport);" \
				"got KAFKA_NODES=$NODES KAFKA_PORT=$PORT KAFKA_CONTROLLER_PORT=$CONTROLLER_PORT." \
				"Unset them, or remove the data dir for a new cluster."
	fi
	CLUSTER_ID=$s_cid
	HAVE_LAYOUT=$([[ -n $s_nodes ]] && echo 1 || echo 0)
}

save_layout() {
	[[ $HAVE_LAYOUT == 1 ]] && return 0
	# A KRaft cluster id is 16 random bytes, base64url without padding.
	CLUSTER_ID=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
	mkdir -p "$DATA_DIR"
	printf 'NODES=%s\nPORT=%s\nCONTROLLER_PORT=%s\nCLUSTER_ID=%s\n' \
		"$NODES" "$PORT" "$CONTROLLER_PORT" "$CLUSTER_ID" >"$LAYOUT_FILE"
	HAVE_LAYOUT=1
}

node_dir() { echo "$DATA_DIR/node-$1"; }
node_port() { echo $((PORT + $1 - 1)); }
node_cport() { echo $((CONTROLLER_PORT + $1 - 1)); }
brokers_list() {
	local i out=""
	for ((i = 1; i <= NODES; i++)); do out+="${out:+,}127.0.0.1:$(node_port "$i")"; done
	echo "$out"
}

check_node_arg() {
	is_uint "$1" && (($1 >= 1 && $1 <= NODES)) || die 2 "node '$1': want 1..$NODES"
}

# node_pid N: pid of node N if it runs (the pid file's process is our java on that
# node dir, which guards against a reused pid), else nothing and status 1.
node_pid() {
	local f pid
	f=$(node_dir "$1")/kafka.pid
	[[ -f $f ]] || return 1
	pid=$(<"$f")
	is_uint "$pid" || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$(node_dir "$1")/server.properties" || return 1
	echo "$pid"
}

port_in_use() {
	local p=$1
	if command -v ss >/dev/null 2>&1; then
		[[ -n $(ss -Hltn "sport = :$p" 2>/dev/null) ]] && return 0
	fi
	(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
}

# --- configuration -------------------------------------------------------------

write_node_config() {
	local n=$1 dir port cport voters="" i rf=1 min_isr=1
	dir=$(node_dir "$n")
	port=$(node_port "$n")
	cport=$(node_cport "$n")
	for ((i = 1; i <= NODES; i++)); do voters+="${voters:+,}$i@127.0.0.1:$(node_cport "$i")"; done
	if ((NODES == 3)); then
		rf=3
		min_isr=2
	fi
	mkdir -p "$dir/logs"
	cat >"$dir/server.properties" <<EOF
# Written by deployments/local/kafka.sh; rewritten at every start.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/logs

# Topics are always created explicitly, by the components or the tests.
auto.create.topics.enable=false
delete.topic.enable=true
num.partitions=1
default.replication.factor=$rf
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$min_isr
group.initial.rebalance.delay.ms=0

# A restarted node cannot register while its killed predecessor's session lives on,
# and a killed node keeps its leaderships until then: 6 s instead of 9 s speeds up both
# without fencing a broker that a busy machine starves for a moment.
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1000

# Friendly to a small (2-core) machine that may run several brokers at once.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
log.cleaner.threads=1
num.replica.fetchers=1
EOF
	cat >"$dir/log4j2.xml" <<EOF
<Configuration status="warn">
  <Appenders>
    <RollingFile name="server" fileName="$dir/server.log" filePattern="$dir/server.log.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="50 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="server"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
  </Loggers>
</Configuration>
EOF
}

format_node() {
	local n=$1 dir
	dir=$(node_dir "$n")
	[[ -f $dir/logs/meta.properties ]] && return 0
	if ! "${TOOL_JAVA[@]}" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$dir/server.properties" \
		>"$dir/format.log" 2>&1; then
		cat "$dir/format.log" >&2
		die 1 "formatting the storage of node $n failed"
	fi
}

launch_node() {
	local n=$1 dir pid
	dir=$(node_dir "$n")
	# fds 8 and 9 are lock files (with-kafka.sh's, with_lock's); a broker holding them
	# would hold the locks for its whole life.
	java -Xms128m "-Xmx$HEAP" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
		-XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$dir/log4j2.xml" -Dkafka.logs.dir="$dir" \
		-cp "$LIB_DIR/*" kafka.Kafka "$dir/server.properties" \
		</dev/null >>"$dir/stdout.log" 2>&1 8>&- 9>&- &
	pid=$!
	echo "$pid" >"$dir/kafka.pid"
	if [[ -n ${KAFKA_OWNER_PID:-} ]]; then
		start_watchdog "$KAFKA_OWNER_PID" "$pid"
	fi
}

# start_watchdog OWNER PID: stop PID when OWNER exits. Detached from our stdio so a
# caller reading our output (Go's exec) does not wait for it.
start_watchdog() {
	local owner=$1 pid=$2
	is_uint "$owner" || die 2 "KAFKA_OWNER_PID=$owner: want a pid"
	(
		while kill -0 "$owner" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 2; done
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 1 20); do
				kill -0 "$pid" 2>/dev/null || exit 0
				sleep 1
			done
			kill -KILL "$pid" 2>/dev/null || true
		fi
	) </dev/null >/dev/null 2>&1 8>&- 9>&- &
	disown $! 2>/dev/null || true
}

# count_brokers PORT: how many brokers the node on PORT reports in its metadata.
count_brokers() {
	local port=$1 out
	if command -v kcat >/dev/null 2>&1; then
		out=$(timeout 10 kcat -L -b "127.0.0.1:$port" -m 3 2>/dev/null) || return 1
		grep -c '^ *broker [0-9]* at ' <<<"$out" || true
	else
		out=$(timeout 30 "${TOOL_JAVA[@]}" org.apache.kafka.tools.BrokerApiVersionsCommand \
			--bootstrap-server "127.0.0.1:$port" 2>/dev/null) || return 1
		grep -c ' (id: [0-9]* rack: ' <<<"$out" || true
	fi
}

log_tail() {
	local dir
	dir=$(node_dir "$1")
	echo "--- last lines of $dir/server.log ---" >&2
	tail -n 40 "$dir/server.log" 2>/dev/null >&2 || true
	if [[ -s $dir/stdout.log ]]; then
		echo "--- last lines of $dir/stdout.log ---" >&2
		tail -n 20 "$dir/stdout.log" >&2
	fi
}

# --- commands ------------------------------------------------------------------

cmd_start() {
	local only=${1:-} t0 n i pid deadline want got version
	t0=$(date +%s%N)
	check_java
	load_layout
	[[ -n $only ]] && check_node_arg "$only"
	ensure_jars
	write_tool_log_config

	local -a to_start=()
	for ((n = 1; n <= NODES; n++)); do
		[[ -n $only && $n != "$only" ]] && continue
		if pid=$(node_pid "$n"); then
			log "node $n already running (pid $pid, 127.0.0.1:$(node_port "$n"))"
			continue
		fi
		for p in "$(node_port "$n")" "$(node_cport "$n")"; do
			port_in_use "$p" && die 3 "port $p (node $n) is already in use; pick another KAFKA_PORT/KAFKA_CONTROLLER_PORT"
		done
		to_start+=("$n")
	done

	save_layout
	if ((${#to_start[@]} > 0)); then
		for n in "${to_start[@]}"; do write_node_config "$n"; done
		# Format in parallel: each is a JVM start, and a 3-node cold start adds up.
		local -a fpids=()
		for n in "${to_start[@]}"; do
			format_node "$n" &
			fpids+=($!)
		done
		for pid in "${fpids[@]}"; do wait "$pid" || die 1 "storage format failed"; done
		for n in "${to_start[@]}"; do launch_node "$n"; done
	fi

	# Ready = every running node answers a metadata request listing all running brokers.
	deadline=$(($(date +%s) + START_TIMEOUT))
	while :; do
		local -a running=()
		for n in "${to_start[@]}"; do
			if ! node_pid "$n" >/dev/null; then
				log_tail "$n"
				die 1 "node $n exited during start-up (see $(node_dir "$n")/server.log)"
			fi
		done
		for ((n = 1; n <= NODES; n++)); do node_pid "$n" >/dev/null && running+=("$n"); done
		want=${#running[@]}
		local ok=1
		for n in "${running[@]}"; do
			got=$(count_brokers "$(node_port "$n")") || got=0
			if [[ $got != "$want" ]]; then
				ok=0
				break
			fi
		done
		((ok == 1)) && break
		if (($(date +%s) >= deadline)); then
			for n in "${to_start[@]}"; do log_tail "$n"; done
			die 1 "broker(s) did not answer within ${START_TIMEOUT}s (KAFKA_START_TIMEOUT)"
		fi
		sleep 0.5
	done

	version=$(grep -h -m1 -o 'Kafka version: [^ ]*' "$(node_dir "${running[0]}")/server.log" 2>/dev/null | head -n1 || true)
	[[ -n $version ]] || version="Kafka version: unknown (no 'Kafka version' line in server.log)"
	local ms=$((($(date +%s%N) - t0) / 1000000))
	printf 'kafka.sh: %s up: %s node(s), brokers %s, data %s (%d.%01ds)\n' \
		"$version" "$want" "$(brokers_list)" "$DATA_DIR" $((ms / 1000)) $((ms % 1000 / 100))
}

# stop_nodes SIGNAL N...: signal the given nodes, wait for them to exit; SIGKILL the
# ones still there after KAFKA_STOP_TIMEOUT.
stop_nodes() {
	local sig=$1 n pid deadline
	shift
	local -a pids=()
	for n in "$@"; do
		if pid=$(node_pid "$n"); then
			kill "-$sig" "$pid" 2>/dev/null || true
			pids+=("$pid")
			log "node $n: sent SIG$sig to pid $pid"
		else
			log "node $n: not running"
		fi
	done
	deadline=$(($(date +%s) + STOP_TIMEOUT))
	for pid in "${pids[@]}"; do
		while kill -0 "$pid" 2>/dev/null; do
			if (($(date +%s) >= deadline)); then
				log "pid $pid still running after ${STOP_TIMEOUT}s: SIGKILL"
				kill -KILL "$pid" 2>/dev/null || true
			fi
			sleep 0.2
		done
	done
	for n in "$@"; do rm -f "$(node_dir "$n")/kafka.pid"; done
}

all_nodes() {
	local i
	for ((i = 1; i <= NODES; i++)); do echo "$i"; done
}

cmd_stop() {
	local only=${1:-}
	load_layout
	if [[ -n $only ]]; then
		check_node_arg "$only"
		stop_nodes TERM "$only"
	else
		# shellcheck disable=SC2046
		stop_nodes TERM $(all_nodes)
	fi
}

cmd_kill() {
	[[ $# == 1 ]] || die 2 "usage: kafka.sh kill NODE"
	load_layout
	check_node_arg "$1"
	stop_nodes KILL "$1"
}

cmd_status() {
	local n pid up=0
	load_layout
	if [[ $HAVE_LAYOUT == 0 ]]; then
		echo "kafka: down (no cluster in $DATA_DIR)"
		return 1
	fi
	for ((n = 1; n <= NODES; n++)); do
		if pid=$(node_pid "$n"); then
			echo "kafka node $n: up (pid $pid, 127.0.0.1:$(node_port "$n"))"
			up=$((up + 1))
		else
			echo "kafka node $n: down"
		fi
	done
	((up == NODES))
}

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

case ${1:-} in
start)
	shift
	[[ $# -le 1 ]] || die 2 "usage: kafka.sh start [NODE]"
	mkdir -p "$DATA_DIR"
	with_lock "$DATA_DIR/.lock" cmd_start "$@"
	;;
stop)
	shift
	[[ $# -le 1 ]] || die 2 "usage: kafka.sh stop [NODE]"
	[[ -d $DATA_DIR ]] || exit 0
	with_lock "$DATA_DIR/.lock" cmd_stop "$@"
	;;
kill)
	shift
	[[ -d $DATA_DIR ]] || die 1 "no cluster in $DATA_DIR"
	cmd_kill "$@"
	;;
status)
	cmd_status
	;;
brokers)
	load_layout
	brokers_list
	;;
-h | --help | help)
	usage
	;;
*)
	usage >&2
	exit 2
	;;
esac
