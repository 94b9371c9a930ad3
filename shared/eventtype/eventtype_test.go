package eventtype

import (
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
)

func TestSpelling(t *testing.T) {
	r := &tetragon.GetEventsResponse{Event: &tetragon.GetEventsResponse_ProcessKprobe{ProcessKprobe: &tetragon.ProcessKprobe{}}}
	if got := FromResponse(r); got != "process_kprobe" {
		t.Fatalf("FromResponse = %q", got)
	}
	if got := FromFieldNumber(9); got != "process_kprobe" {
		t.Fatalf("FromFieldNumber(9) = %q", got)
	}
	if got := FromFieldNumber(40001); got != "rate_limit_info" {
		t.Fatalf("FromFieldNumber(40001) = %q", got)
	}
	if got := FromFieldNumber(77); got != Unknown {
		t.Fatalf("FromFieldNumber(77) = %q", got)
	}
	if got := FromResponse(&tetragon.GetEventsResponse{}); got != Unknown {
		t.Fatalf("empty response = %q", got)
	}
	if v, ok := FilterName("process_lsm"); !ok || v != tetragon.EventType_PROCESS_LSM {
		t.Fatalf("FilterName = %v %v", v, ok)
	}
	if _, ok := FilterName("undef"); ok {
		t.Fatal("undef accepted")
	}
}

func TestAllCoversEveryResponseType(t *testing.T) {
	all := All()
	if len(all) != 11 {
		t.Fatalf("All() = %v, want the 11 types of api v1.7", all)
	}
	if all[0] != "process_exec" || all[len(all)-1] != "rate_limit_info" {
		t.Fatalf("order: %v", all)
	}
}
