package normalize

import (
	"strings"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/cilium/tetragon/api/v1/tetragon/codegen/helpers"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// extractByName is Extract derived independently of the eventtype table:
// Tetragon's helpers for the process, and the event message's fields named
// policy_name, action and return_action by reflection.
func extractByName(ev *tetragon.GetEventsResponse) Fields {
	f := Fields{Node: ev.GetNodeName(), Type: TypeUnknown}
	if s, err := helpers.ResponseTypeString(ev); err == nil {
		f.Type = strings.ToLower(s)
	}
	m := ev.ProtoReflect()
	if fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("event")); fd != nil {
		em := m.Get(fd).Message()
		get := func(name protoreflect.Name) (protoreflect.Value, bool) {
			x := em.Descriptor().Fields().ByName(name)
			if x == nil {
				return protoreflect.Value{}, false
			}
			return em.Get(x), true
		}
		if v, ok := get("policy_name"); ok {
			f.PolicyName = v.String()
		}
		if v, ok := get("action"); ok && IsEnforcement(tetragon.KprobeAction(v.Enum())) {
			f.Enforced = true
		}
		if v, ok := get("return_action"); ok && IsEnforcement(tetragon.KprobeAction(v.Enum())) {
			f.Enforced = true
		}
	}
	p := helpers.ResponseGetProcess(ev)
	f.Binary = p.GetBinary()
	if pod := p.GetPod(); pod != nil {
		f.Namespace, f.Pod, f.Workload, f.Labels = pod.GetNamespace(), pod.GetName(), pod.GetWorkload(), pod.GetPodLabels()
	}
	return f
}

func TestExtractAgreesWithReflection(t *testing.T) {
	n := 0
	for _, c := range loadCases(t) {
		ev := &tetragon.GetEventsResponse{}
		if err := Decode(c.raw, ev); err != nil {
			continue
		}
		got, want := Extract(ev), extractByName(ev)
		if got.Type != want.Type || got.Node != want.Node || got.Namespace != want.Namespace || got.Pod != want.Pod ||
			got.Workload != want.Workload || got.Binary != want.Binary || got.PolicyName != want.PolicyName ||
			got.Enforced != want.Enforced || len(got.Labels) != len(want.Labels) {
			t.Errorf("%s: Extract %+v, by reflection %+v", c.name, got, want)
		}
		if TypeOf(ev) != want.Type {
			t.Errorf("%s: TypeOf %q, want %q", c.name, TypeOf(ev), want.Type)
		}
		n++
	}
	if n < 11 {
		t.Fatalf("only %d cases", n)
	}
}
