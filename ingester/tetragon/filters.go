package tetragon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// ParseFilters reads TETRAGON_ALLOW_LIST or TETRAGON_DENY_LIST: Tetragon's
// own JSON filter syntax, either a JSON array of tetragon.Filter objects or,
// as Tetragon's --export-allowlist and `tetra getevents` take them, objects
// one after the other (one per line). Field names may be snake_case or
// lowerCamelCase; event types are Tetragon's spelling (PROCESS_EXEC).
// Regular expressions are compiled here so a typo fails at start, not as a
// reconnect loop against a server that rejects the request.
func ParseFilters(s string) ([]*tetragon.Filter, error) {
	objs, err := splitObjects(s)
	if err != nil || len(objs) == 0 {
		return nil, err
	}
	out := make([]*tetragon.Filter, 0, len(objs))
	for i, o := range objs {
		f := &tetragon.Filter{}
		if err := protojson.Unmarshal(o, f); err != nil {
			return nil, fmt.Errorf("filter %d: %w", i+1, err)
		}
		if err := checkRegexps(f); err != nil {
			return nil, fmt.Errorf("filter %d: %w", i+1, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func checkRegexps(f *tetragon.Filter) error {
	lists := map[string][]string{
		"binary_regex":           f.GetBinaryRegex(),
		"pod_regex":              f.GetPodRegex(),
		"arguments_regex":        f.GetArgumentsRegex(),
		"parent_binary_regex":    f.GetParentBinaryRegex(),
		"parent_arguments_regex": f.GetParentArgumentsRegex(),
		"ancestor_binary_regex":  f.GetAncestorBinaryRegex(),
		"container_name_regex":   f.GetContainerNameRegex(),
		"namespace_regex":        f.GetNamespaceRegex(),
	}
	for name, res := range lists {
		for _, re := range res {
			if _, err := regexp.Compile(re); err != nil {
				return fmt.Errorf("%s %q: %w", name, re, err)
			}
		}
	}
	return nil
}

// ParseFieldFilters reads TETRAGON_FIELD_FILTERS: tetragon.FieldFilter
// objects in the same syntax as ParseFilters. "fields" is a comma-separated
// list of paths inside the event (e.g. "process.binary,process.arguments"),
// snake_case as Tetragon writes them (protojson alone would insist on
// lowerCamelCase). It refuses filters that would remove a field the event
// id needs (CheckFieldFilters).
func ParseFieldFilters(s string) ([]*tetragon.FieldFilter, error) {
	objs, err := splitObjects(s)
	if err != nil || len(objs) == 0 {
		return nil, err
	}
	out := make([]*tetragon.FieldFilter, 0, len(objs))
	for i, o := range objs {
		o, err := camelFields(o)
		if err != nil {
			return nil, fmt.Errorf("field filter %d: %w", i+1, err)
		}
		f := &tetragon.FieldFilter{}
		if err := protojson.Unmarshal(o, f); err != nil {
			return nil, fmt.Errorf("field filter %d: %w", i+1, err)
		}
		switch f.GetAction() {
		case tetragon.FieldFilterAction_INCLUDE, tetragon.FieldFilterAction_EXCLUDE:
		default:
			return nil, fmt.Errorf("field filter %d: action must be INCLUDE or EXCLUDE, got %v", i+1, f.GetAction())
		}
		out = append(out, f)
	}
	if err := CheckFieldFilters(out); err != nil {
		return nil, err
	}
	return out, nil
}

// splitObjects accepts a JSON array of objects or a sequence of objects.
func splitObjects(s string) ([]json.RawMessage, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.HasPrefix(s, "[") {
		var objs []json.RawMessage
		if err := json.Unmarshal([]byte(s), &objs); err != nil {
			return nil, fmt.Errorf("not a JSON array of filter objects: %w", err)
		}
		return objs, nil
	}
	var objs []json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	for {
		var o json.RawMessage
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("filter %d is not JSON: %w", len(objs)+1, err)
		}
		if !bytes.HasPrefix(bytes.TrimSpace(o), []byte("{")) {
			return nil, fmt.Errorf("filter %d is not a JSON object", len(objs)+1)
		}
		objs = append(objs, o)
	}
}

// camelFields rewrites the "fields" string of a field filter object from
// snake_case to lowerCamelCase, which protojson requires of a FieldMask.
func camelFields(o json.RawMessage) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(o, &m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	raw, ok := m["fields"]
	if !ok {
		return o, nil
	}
	var fields string
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf(`"fields" must be a string of comma-separated paths: %w`, err)
	}
	b, err := json.Marshal(lowerCamel(fields))
	if err != nil {
		return nil, err
	}
	m["fields"] = b
	return json.Marshal(m)
}

func lowerCamel(s string) string {
	var b strings.Builder
	up := false
	for _, r := range s {
		switch {
		case r == '_':
			up = true
			continue
		case up:
			r = unicode.ToUpper(r)
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

// idFields lists, per event type, the paths inside the event message that
// the event id reads (shared/eventid's scheme, from shared/eventtype's
// table; node_name and time are outside the event and no field filter can
// touch them). A test checks it against eventid itself.
var idFields = func() map[tetragon.EventType][]string {
	m := make(map[tetragon.EventType][]string)
	for _, t := range eventtype.Table() {
		m[t.Enum] = t.IDPaths
	}
	return m
}()

// IDFields returns the paths inside events of type t that the event id needs.
func IDFields(t tetragon.EventType) []string { return idFields[t] }

// CheckFieldFilters refuses field filters that would remove a field the
// event id needs: an EXCLUDE naming such a field (or a parent of it), or an
// INCLUDE whose paths do not keep it, for any event type the filter applies
// to. Removing one would give copies of an event different ids, and the
// fanout's dedup would let them through.
func CheckFieldFilters(ffs []*tetragon.FieldFilter) error {
	types := make([]tetragon.EventType, 0, len(idFields))
	for t := range idFields {
		types = append(types, t)
	}
	slices.Sort(types)
	for i, ff := range ffs {
		paths := ff.GetFields().GetPaths()
		for _, t := range types {
			if !appliesTo(ff, t) {
				continue
			}
			for _, need := range idFields[t] {
				touched := slices.ContainsFunc(paths, func(p string) bool { return overlaps(p, need) })
				switch ff.GetAction() {
				case tetragon.FieldFilterAction_EXCLUDE:
					if touched {
						return fmt.Errorf("field filter %d excludes %s of %s events, which the event id needs", i+1, need, eventtype.FromFieldNumber(int32(t)))
					}
				case tetragon.FieldFilterAction_INCLUDE:
					// An INCLUDE with no paths keeps everything.
					if len(paths) > 0 && !touched {
						return fmt.Errorf("field filter %d includes only %s, dropping %s of %s events, which the event id needs; add it to \"fields\"",
							i+1, strings.Join(paths, ","), need, eventtype.FromFieldNumber(int32(t)))
					}
				}
			}
		}
	}
	return nil
}

// overlaps reports whether filter path p covers field path need or part of
// it: p is need, an ancestor of it, or a descendant (process.pid.value).
func overlaps(p, need string) bool {
	return p == need || strings.HasPrefix(need, p+".") || strings.HasPrefix(p, need+".")
}

// appliesTo mirrors Tetragon: an empty event_set means every type;
// invert_event_set means every type not in it.
func appliesTo(ff *tetragon.FieldFilter, t tetragon.EventType) bool {
	set := ff.GetEventSet()
	if len(set) == 0 {
		return true
	}
	return slices.Contains(set, t) != ff.GetInvertEventSet().GetValue()
}

// Request builds the GetEventsRequest the ingester sends.
func Request(allow, deny []*tetragon.Filter, fields []*tetragon.FieldFilter) *tetragon.GetEventsRequest {
	return &tetragon.GetEventsRequest{AllowList: allow, DenyList: deny, FieldFilters: fields}
}
