// Package normalize turns a raw Tetragon GetEventsResponse (protobuf bytes
// as the ingester wrote them) into one JSON object of tetragon-fanout's
// schema v1 (schema/event.v1.schema.json), and extracts the fields routing
// and sampling match on.
//
// The JSON is written by hand-made appenders, without reflection,
// encoding/json or protojson: protojson is the correctness reference in the
// tests, not the encoder. Output is deterministic (fixed key order, map keys
// sorted) so equal events give equal bytes.
//
// Two ways to decode: Decode (proto.Unmarshal into a fresh message; simple,
// the event lives as long as you like, ~40 allocations per event) and
// Decoder.Decode (generated, allocation-free, the event lives until the
// next Decode on that Decoder). Both accept and reject the same inputs and
// give equal events; Append and Extract work on either.
package normalize

import (
	"errors"
	"strings"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/proto"
)

// Reasons a raw message cannot be normalized, for the DLQ header and the
// fanout_events_dlq_total{reason} label. Stable: dashboards depend on them.
const (
	// ReasonUndecodable: the bytes are not a valid GetEventsResponse
	// (bad wire format, truncated, invalid UTF-8 in a string field).
	ReasonUndecodable = "undecodable"
	// ReasonEmpty: the bytes decode to a response carrying nothing at all
	// (no event, no node, no time, no field of any kind). Zero-length
	// values are the usual cause.
	ReasonEmpty = "empty_event"
)

// DecodeError is returned by Decode. Reason is one of the Reason*
// constants; Error() is "<reason>: <detail>", short and stable enough for a
// DLQ header.
type DecodeError struct {
	Reason string
	Err    error
}

func (e *DecodeError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	// protobuf-go randomizes the space after "proto:" (U+00A0 or U+0020)
	// per binary so nobody depends on its text; we want one stable text.
	return e.Reason + ": " + strings.ReplaceAll(e.Err.Error(), "\u00a0", " ")
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Reason returns the DLQ reason code carried by err, or "" when err is not
// (and does not wrap) a *DecodeError.
func Reason(err error) string {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Reason
	}
	return ""
}

var errEmpty = &DecodeError{Reason: ReasonEmpty}

// Decode unmarshals raw protobuf bytes into ev, which it resets first.
//
// Unknown fields are kept, not discarded: an event type newer than this
// build (or one Tetragon removed, like process_connect) decodes with no
// oneof set and its bytes in the unknown fields; Append writes it as
// type "unknown" with node, time, cluster and those raw fields. Only bytes
// that do not parse, or parse to nothing at all, are errors.
func Decode(raw []byte, ev *tetragon.GetEventsResponse) error {
	if err := proto.Unmarshal(raw, ev); err != nil {
		return &DecodeError{Reason: ReasonUndecodable, Err: err}
	}
	if isEmpty(ev) {
		return errEmpty
	}
	return nil
}

// isEmpty: nothing at all was decoded.
func isEmpty(ev *tetragon.GetEventsResponse) bool {
	return ev.Event == nil && ev.NodeName == "" && ev.Time == nil && ev.ClusterName == "" &&
		len(ev.NodeLabels) == 0 && ev.AggregationInfo == nil && len(ev.ProtoReflect().GetUnknown()) == 0
}
