// Package eventtype spells Tetragon event types the one way tetragon-fanout
// uses them everywhere: lower-case Tetragon enum names ("process_exec",
// "process_kprobe", ...) in topic templates, headers, metric labels and the
// JSON "type" field, and "unknown" for anything this build does not know.
//
// Its table (table.go) is the one place an event type is described: its
// number, name, JSON object key, the fields its event id uses, and accessors
// for its process, parent, ancestors, policy and actions. shared/eventid,
// the ingester's field-filter check, fanout/normalize and the simulator
// read it; tests check the JSON Schema, eventid's doc and the deployments'
// topics against it.
package eventtype

import (
	"strings"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/cilium/tetragon/api/v1/tetragon/codegen/helpers"
)

// Unknown is the type of an event whose oneof field this build does not know
// (a newer Tetragon) or that carries no event at all.
const Unknown = "unknown"

// FromFieldNumber names the type of the GetEventsResponse oneof field with
// the given number (the oneof field numbers equal tetragon.EventType
// values, the proto says so), which lets the ingester name a type from the
// raw bytes without decoding the event.
func FromFieldNumber(n int32) string {
	if t := ByNumber(n); t != nil {
		return t.Name
	}
	return Unknown
}

// FromResponse names the type of a decoded response, using Tetragon's own
// helper so a type added to the API is spelled as Tetragon spells it.
func FromResponse(r *tetragon.GetEventsResponse) string {
	s, err := helpers.ResponseTypeString(r)
	if err != nil {
		return Unknown
	}
	return strings.ToLower(s)
}

// FilterName is Tetragon's own spelling ("PROCESS_EXEC") of one of our type
// names, for the server-side filters that Tetragon's API reads. ok is false
// for a name Tetragon does not know.
func FilterName(t string) (tetragon.EventType, bool) {
	v, ok := tetragon.EventType_value[strings.ToUpper(t)]
	if !ok || v == int32(tetragon.EventType_UNDEF) {
		return tetragon.EventType_UNDEF, false
	}
	return tetragon.EventType(v), true
}

// All lists every known type, in field-number order.
func All() []string {
	out := make([]string, 0, len(table))
	for i := range table {
		out = append(out, table[i].Name)
	}
	return out
}
