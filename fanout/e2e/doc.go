// Package e2e holds the end-to-end tests of the whole pipeline: the
// simulated Tetragon, the ingester and fanout BINARIES, and a real Kafka.
//
// The ingester and fanout run as separate processes, built from this
// repository (or taken from E2E_BIN_DIR): that is how they run in
// production, it exercises their configuration, signal handling and
// /metrics, and it is the only way to kill -9 one. The simulator runs in
// the test process (shared/sim) because it is the oracle: it records
// every event it sent, so the test knows exactly what must come out.
// Outputs are read back from Kafka with sarama (and kcat in one check),
// as any consumer would.
//
// Tests:
//
//   - TestPipeline (in `make test`): sim -> ingester -> Kafka -> two fanout
//     replicas -> output topics. Every event arrives exactly once, in the
//     topic the demo's routes file names, as the JSON the normalizer makes.
//   - TestFaults (build tag faults; `make test-faults`, `make
//     test-faults-light`): the same checks under faults (kill -9, scaling,
//     broker restart and loss, duplicates, ingester restart and rolling
//     restart, poison messages, a topic Kafka refuses), plus a control run
//     without in-order commits that must lose events, with a report table
//     in .local/faults-report.txt.
//   - TestFanoutShutdownWithBrokerGone (in `make test`): SIGTERM after the
//     broker has been gone for 45s; the fanout exits within SHUTDOWN_TIMEOUT.
package e2e
