// Package processor is the fanout's goka processor group: the group
// definition (Graph), the callback (Pipeline: dedup, normalize, sample,
// route), emission through one producer tied to the input commit, the DLQ,
// metrics, readiness, and the Kafka plumbing goka needs (Runner: configs for
// every goka client, the table changelog, waiting for the raw topic, the
// start offset, restarts).
//
// # Delivery guarantees
//
// At least once, with duplicates from upstream removed within DEDUP_WINDOW:
//
//   - Every output (emit or DLQ) is tied to its input message with
//     ctx.DeferCommit(); goka marks the input only when all of its writes
//     (table entry, outputs) are acked.
//   - goka marks messages as they finish, in any order, and sarama commits
//     the highest mark: a dropped duplicate, or an output acked early, would
//     commit past an earlier message still in flight (TestBrokerCommitOrder
//     shows goka v1.1.16 doing exactly that). fanout/commit wraps the
//     consumer group so only the finished prefix of each partition, in
//     delivery order, is committed.
//   - A crash loses nothing: what was not committed is replayed. Replayed
//     messages find their own table entry (same partition and offset) and
//     are emitted again with the same key and tf-raw; a consumer that needs
//     exactly once drops outputs whose (key, tf-raw) it has seen.
//   - A clean shutdown (SIGTERM) waits for in-flight outputs (goka allows
//     60s), commits and leaves the group: a restart repeats nothing.
//
// # Failures
//
//   - Raw bytes that do not decode (invalid UTF-8 in a string field
//     included), an empty value, a missing key, a key that is not a
//     well-formed event id: DLQ with tf-error-reason (undecodable,
//     empty_event, missing_event_id, invalid_event_id).
//   - Output headers describe the output: tf-type is the normalized type
//     (unknown for an event of no known type, whatever the raw header
//     claimed) and tf-node the event's node.
//   - An output topic Kafka cannot create or confirm right now (a broker
//     restart): not committed, counted as
//     fanout_output_errors_total{reason="topic_unavailable"}; the processor
//     restarts from the last commit and routes the event again, for at most
//     TOPIC_RETRY_BUDGET (and three attempts). An output topic Kafka
//     refuses for good (classified by the broker's error code: a name that
//     collides with an existing one once '.' and '_' are alike, a create
//     policy, a missing ACL, partitions, replication or configs the cluster
//     does not accept), and one whose budget ran out, sends the event to
//     its default topic (fanout_events_rerouted_total{reason="topic_refused"}
//     or "topic_retries_exhausted") and the partition goes on. A template
//     over its topic cap goes to the default topic (counted as
//     fanout_events_rerouted_total{reason="topic_cap"}). If the default
//     topic cannot be had either, DLQ (topic_unavailable, the cause in
//     tf-error, retryable with dlq-redrive).
//   - An output the broker refuses for good (too large, invalid record):
//     the raw message goes to the DLQ (output_rejected). A record refused
//     with MESSAGE_TOO_LARGE in a batch is first sent again alone (the
//     batch may have been too large for an output topic with a small
//     max.message.bytes, not the record), and a record larger than its
//     topic's limit is sent alone from the start; an existing output topic
//     with a limit below the fanout's is logged when first used. The DLQ
//     record of a rejected output is a follow-up that takes no in-flight
//     slot: sent from the producer's completion goroutine, waiting for a
//     slot there wedged the producer once every record in flight failed.
//   - An output or DLQ write that fails after the producer's retries
//     (broker down, not enough in-sync replicas): NOT committed. The
//     callback's deferred commit fails, goka stops the processor, and the
//     Runner starts a new one from the last commit after a backoff
//     (fanout_processor_restarts_total). Nothing is skipped; the pipeline
//     waits for Kafka rather than dropping.
//
// # Liveness
//
// /healthz fails when, for LIVENESS_STALL_TIMEOUT, Kafka answers metadata
// requests, there is work (messages in flight or behind the high-water
// mark, or a processor that does not run), and no partition's commit
// moved: a wedged replica, which Kubernetes restarts. While Kafka is
// unreachable the clock does not run, so an outage restarts no replica
// (/readyz reports it instead).
//
// # The dedup table
//
// <group>-table, co-partitioned with the raw topic, created by the fanout
// with cleanup.policy=compact,delete, retention.ms = DEDUP_WINDOW +
// TABLE_RETENTION_MARGIN and segment.ms = DEDUP_WINDOW/4; goka is set to
// fail on any difference. Entries are ~15 bytes plus the 32-byte id. Local
// storage: memory (about 175 bytes per entry: 10k events/s and a 10m
// window are 6M entries, about 1 GB over the replicas, each holding its
// partitions' share, or all of them with HOT_STANDBY) rebuilt from the
// changelog whenever a partition is assigned (fanout_table_recovery_seconds;
// BenchmarkBrokerTableRecovery), or leveldb under STATE_DIR/<group>/<REPLICA_ID>
// on a persistent volume, which only catches up. Expired entries read as
// absent and are swept every TABLE_SWEEP_INTERVAL.
//
// If a raw producer partitions by another hash than goka's (FNV-1a), each
// table write carries the raw partition in a header and goes to that
// changelog partition, so dedup is unaffected; goka's Processor.Get would
// look in the wrong partition, which is why the query UI (/query/) searches
// every local partition instead (fanout_raw_partition_mismatch_total counts
// such messages).
package processor
