#!/usr/bin/env bash
# with-kafka.sh CMD [ARG...]: run CMD against a fresh Kafka broker, then stop it.
#
# The broker's data dir (KAFKA_DATA_DIR, default <repo>/.local/kafka/test) is wiped
# first, so every run starts from an empty cluster; KAFKA_PORT defaults to 19092.
# CMD sees KAFKA_BROKERS. The broker is stopped however CMD ends (failure, Ctrl-C),
# and CMD's exit code is ours.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
KAFKA_SH=$SCRIPT_DIR/kafka.sh

[[ $# -gt 0 ]] || {
	echo "usage: with-kafka.sh CMD [ARG...]" >&2
	exit 2
}

export KAFKA_DATA_DIR=${KAFKA_DATA_DIR:-$REPO_ROOT/.local/kafka/test}
export KAFKA_PORT=${KAFKA_PORT:-19092}
case $KAFKA_DATA_DIR in
/ | "$HOME" | "$REPO_ROOT") echo "with-kafka.sh: refusing to wipe KAFKA_DATA_DIR=$KAFKA_DATA_DIR" >&2 && exit 2 ;;
esac

# Two runs on one data dir would wipe each other's broker: the second waits. (kafka.sh
# keeps fd 8 away from the broker JVM, so the lock ends with this script.)
mkdir -p "$(dirname "$KAFKA_DATA_DIR")"
exec 8>"$KAFKA_DATA_DIR.lock"
if command -v flock >/dev/null 2>&1 && ! flock -n 8; then
	echo "with-kafka.sh: another run uses $KAFKA_DATA_DIR; waiting for it" >&2
	flock 8
fi

# A leftover broker from an interrupted run would hold the port and the files.
"$KAFKA_SH" stop >/dev/null 2>&1 || true
rm -rf "$KAFKA_DATA_DIR"

stop_kafka() { "$KAFKA_SH" stop >&2 || true; }
trap stop_kafka EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$KAFKA_SH" start
KAFKA_BROKERS=$("$KAFKA_SH" brokers)
export KAFKA_BROKERS
echo "with-kafka.sh: KAFKA_BROKERS=$KAFKA_BROKERS" >&2

rc=0
"$@" || rc=$?
exit "$rc"
