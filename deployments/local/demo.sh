#!/usr/bin/env bash
# demo.sh: a local stack to look at. Starts Kafka on KAFKA_PORT (default 9092, data in
# <repo>/.local/kafka/data) and leaves it running, then runs bin/tetragon-sim in the
# foreground if it has been built (make build). Stop Kafka with `make kafka-stop`.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)

"$SCRIPT_DIR/kafka.sh" start
KAFKA_BROKERS=$("$SCRIPT_DIR/kafka.sh" brokers)
export KAFKA_BROKERS
echo "demo: Kafka is up at $KAFKA_BROKERS (stop it with: make kafka-stop)"
echo "demo: list topics with: kcat -b $KAFKA_BROKERS -L"

sim=$REPO_ROOT/bin/tetragon-sim
if [[ -x $sim ]]; then
	echo "demo: running $sim $* (Ctrl-C to stop it; Kafka keeps running)"
	exec "$sim" "$@"
fi
echo "demo: $sim not built yet (make build); nothing else to start"
