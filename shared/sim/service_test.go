package sim

import (
	"fmt"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// decodeConfAsTetragon reads GetInfo's conf the way `tetra info` does:
// the type switch of decodeConf in Tetragon's pkg/tetragoninfo/info.go
// (cilium/tetragon main, read 2026-12), which knows StringValue,
// Int64Value, BoolValue and ListValue and shows anything else as an error
// (tetra printed "{}" for the sim's former UInt64Value). The github.com/
// cilium/tetragon module itself does not build here, so the switch is
// restated rather than imported.
func decodeConfAsTetragon(conf []*tetragon.GetInfoResponse_ConfVal) map[string]any {
	out := make(map[string]any, len(conf))
	for _, c := range conf {
		v, err := c.GetValue().UnmarshalNew()
		if err != nil {
			out[c.GetKey()] = fmt.Errorf("failed to unmarshall value: %w", err)
			continue
		}
		switch v := v.(type) {
		case *wrapperspb.StringValue:
			out[c.GetKey()] = v.GetValue()
		case *wrapperspb.Int64Value:
			out[c.GetKey()] = v.GetValue()
		case *wrapperspb.BoolValue:
			out[c.GetKey()] = v.GetValue()
		case *structpb.ListValue:
			out[c.GetKey()] = v.AsSlice()
		default:
			out[c.GetKey()] = fmt.Errorf("unknown value type: %T", v)
		}
	}
	return out
}

func TestDecodeConfAsTetragonRejectsWhatTetraCannotShow(t *testing.T) {
	u, _ := anypb.New(wrapperspb.UInt64(7))
	i, _ := anypb.New(wrapperspb.Int64(7))
	got := decodeConfAsTetragon([]*tetragon.GetInfoResponse_ConfVal{{Key: "u", Value: u}, {Key: "i", Value: i}})
	if _, ok := got["u"].(error); !ok {
		t.Errorf("UInt64Value decoded as %v", got["u"])
	}
	if got["i"] != int64(7) {
		t.Errorf("Int64Value decoded as %v", got["i"])
	}
}

// Every conf value the sim reports is one tetra info can show, books included.
func TestGetInfoConfDecodesAsTetragon(t *testing.T) {
	cfg := testConfig()
	cfg.Events = 5
	s := startServer(t, cfg)
	c := dial(t, s.Target())
	ctx := testCtx(t)
	receive(t, ctx, c, &tetragon.GetEventsRequest{}, 5)
	waitDone(t, s)
	info, err := c.GetInfo(ctx, &tetragon.GetInfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	conf := decodeConfAsTetragon(info.Conf)
	if len(conf) == 0 {
		t.Fatal("no conf")
	}
	for k, v := range conf {
		if err, ok := v.(error); ok {
			t.Errorf("%s: %v", k, err)
		}
	}
	for k, want := range map[string]any{"sim.events_limit": int64(5), "sim.events_sent_distinct": int64(5), "sim.source": "generator"} {
		if conf[k] != want {
			t.Errorf("%s = %v (%T), want %v", k, conf[k], conf[k], want)
		}
	}
}
