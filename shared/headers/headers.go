// Package headers names the Kafka record headers of the raw and output
// topics. They are a contract: consumers, dashboards and the fault suite
// read them.
package headers

const (
	// Type is the event type, spelled as shared/eventtype spells it.
	Type = "tf-type"
	// Node is the Kubernetes node the event came from.
	Node = "tf-node"
	// IngestNS is the unix time in ns when the ingester received the event,
	// in decimal; the fanout measures end-to-end latency from it.
	IngestNS = "tf-ingest-ns"
	// Format says what the value holds: FormatRaw or FormatJSON.
	Format = "tf-format"
	// Raw is "partition/offset" of the raw message an output came from; a
	// repeat with the same Raw is a re-emit after a crash, a repeat with a
	// different Raw is a duplicate that slipped through.
	Raw = "tf-raw"
	// Error and ErrorReason are set on DLQ messages: a stable reason code
	// and the error text.
	ErrorReason = "tf-error-reason"
	Error       = "tf-error"
)

const (
	// FormatRaw is Tetragon's GetEventsResponse protobuf, as sent.
	FormatRaw = "pb1"
	// FormatJSON is the normalized JSON of schema v1.
	FormatJSON = "json1"
)
