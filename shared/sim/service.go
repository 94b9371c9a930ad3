package sim

import (
	"context"
	"math"
	"runtime"
	"strconv"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// service is the FineGuidanceSensors implementation; the RPCs a simulator
// has no business with (policies, sensors, debug) stay Unimplemented.
type service struct {
	tetragon.UnimplementedFineGuidanceSensorsServer
	s *Server
}

func (v *service) GetEvents(req *tetragon.GetEventsRequest, stream grpc.ServerStreamingServer[tetragon.GetEventsResponse]) error {
	s := v.s
	flt, err := compileFilters(req)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "tetragon-sim: %v", err)
	}
	if len(req.GetFieldFilters()) > 0 {
		return status.Error(codes.Unimplemented, "tetragon-sim: field_filters are not supported")
	}
	c := &client{
		id: s.nextID.Add(1), filter: flt, q: make(chan *frame, s.cfg.Queue),
		done: make(chan struct{}), drain: make(chan struct{}),
	}
	if p, ok := peer.FromContext(stream.Context()); ok && p.Addr != nil {
		c.peer = p.Addr.String()
	}
	if err := s.attach(c); err != nil {
		return status.Errorf(codes.Unavailable, "tetragon-sim: %v", err)
	}
	defer s.detach(c)
	ctx := stream.Context()
	// SendMsg with a *frame: rawCodec writes its bytes as they are.
	send := func(f *frame) error {
		if err := stream.SendMsg(f); err != nil {
			return err
		}
		c.delivered.Add(1)
		return nil
	}
	for {
		select {
		case f := <-c.q:
			if err := send(f); err != nil {
				return err
			}
		case <-c.drain:
			for {
				select {
				case f := <-c.q:
					if err := send(f); err != nil {
						return err
					}
				default:
					return status.Error(codes.Unavailable, "tetragon-sim: server stopping")
				}
			}
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

func (v *service) GetHealth(context.Context, *tetragon.GetHealthStatusRequest) (*tetragon.GetHealthStatusResponse, error) {
	return &tetragon.GetHealthStatusResponse{HealthStatus: []*tetragon.HealthStatus{{
		Event:   tetragon.HealthStatusType_HEALTH_STATUS_TYPE_STATUS,
		Status:  tetragon.HealthStatusResult_HEALTH_STATUS_RUNNING,
		Details: "running (tetragon-sim: simulated events, no eBPF)",
	}}}, nil
}

func (v *service) GetVersion(context.Context, *tetragon.GetVersionRequest) (*tetragon.GetVersionResponse, error) {
	return &tetragon.GetVersionResponse{Version: VersionString()}, nil
}

// GetInfo reports the build and, as conf entries, the simulator's settings
// and books (sent, duplicates, drops), so a client can see them without a
// metrics endpoint.
func (v *service) GetInfo(context.Context, *tetragon.GetInfoRequest) (*tetragon.GetInfoResponse, error) {
	s := v.s
	bi := buildInfo()
	st := s.Stats()
	var conf []*tetragon.GetInfoResponse_ConfVal
	// Only the value types Tetragon itself sends (pkg/tetragoninfo:
	// string, bool, int64, string list): `tetra info` decodes those and
	// shows anything else, UInt64Value included, as "{}". Counts fit
	// int64; a float (rate) goes as its string.
	u64 := func(key string, n uint64) {
		a, _ := anypb.New(wrapperspb.Int64(int64(min(n, math.MaxInt64))))
		conf = append(conf, &tetragon.GetInfoResponse_ConfVal{Key: key, Value: a})
	}
	str := func(key, val string) {
		a, _ := anypb.New(wrapperspb.String(val))
		conf = append(conf, &tetragon.GetInfoResponse_ConfVal{Key: key, Value: a})
	}
	src := "generator"
	if len(s.cfg.Replay) > 0 {
		src = "replay"
	}
	str("sim.source", src)
	str("sim.nonce", strconv.FormatUint(uint64(st.Nonce), 16))
	u64("sim.events_limit", s.cfg.Events)
	str("sim.rate", strconv.FormatFloat(s.cfg.Rate, 'g', -1, 64))
	str("sim.dup_ratio", strconv.FormatFloat(s.cfg.DupRatio, 'g', -1, 64))
	u64("sim.queue", uint64(s.cfg.Queue))
	u64("sim.events_sent_distinct", sum(st.Distinct))
	u64("sim.events_sent_duplicates", sum(st.Duplicates))
	for _, r := range dropReasons {
		u64("sim.events_dropped."+r, st.Dropped[r])
	}
	connected := 0
	for _, c := range st.Clients {
		if c.Connected {
			connected++
		}
	}
	u64("sim.clients_connected", uint64(connected))
	u64("sim.replay_bad_lines", uint64(len(s.bad)))
	return &tetragon.GetInfoResponse{
		Version: VersionString(),
		Name:    "tetragon-sim",
		Conf:    conf,
		Build: &tetragon.GetInfoResponse_BuildInfo{
			GoVersion: orDefault(bi.goVersion, runtime.Version()), Commit: bi.commit, Time: bi.time, Modified: bi.modified,
		},
	}, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
