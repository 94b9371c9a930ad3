package sim

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/cilium/tetragon/api/v1/tetragon/codegen/helpers"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/generate"
)

func TestStreamsExactlyNEvents(t *testing.T) {
	const n = 5000
	cfg := testConfig()
	cfg.Events, cfg.Record = n, true
	s := startServer(t, cfg)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	got, st := receive(t, ctx, dial(t, s.Target()), &tetragon.GetEventsRequest{}, n)
	waitDone(t, s)

	counts := countTypes(got)
	if !maps.Equal(counts, s.Sent()) {
		t.Fatalf("received %v, server sent %v", counts, s.Sent())
	}
	mix := generate.Config{}.Mix()
	for typ, per := range mix {
		if counts[typ] < uint64(per)*(n/generate.BlockSize) {
			t.Errorf("%s: %d events, want >= %d", typ, counts[typ], per*(n/generate.BlockSize))
		}
	}
	if len(counts) != len(mix) {
		t.Fatalf("%d types: %v", len(counts), counts)
	}
	recs := s.Records()
	if len(recs) != n {
		t.Fatalf("%d records", len(recs))
	}
	for i, r := range recs {
		want, err := r.Decode()
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(want, got[i]) || r.Seq != uint64(i+1) || r.Dup {
			t.Fatalf("event %d differs from record %d", i, r.Seq)
		}
	}
	eventually(t, "delivery books", func() bool {
		c := s.Stats().Clients
		return len(c) == 1 && c[0].Delivered == n && c[0].Enqueued == n && c[0].Dropped == 0
	})
	// After the last event the stream stays open: it ends only because we
	// cancel it.
	cancel()
	if _, err := st.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("stream after the last event: %v, want Canceled", err)
	}
}

// Counts from testdata/PROVENANCE.md of the replay package.
var fixtures = []struct {
	file       string
	decodable  int
	bad        int
	typesOnce  map[string]uint64
	firstBadAt int
}{
	{"events.jsonl", 3, 0, map[string]uint64{"process_exec": 3}, 0},
	{"docs-events.jsonl", 20, 0, map[string]uint64{"process_kprobe": 13, "process_exec": 4, "process_exit": 1, "process_throttle": 2}, 0},
	{"legacy-book-events.jsonl", 29, 11, map[string]uint64{"process_exec": 18, "process_exit": 9, "process_kprobe": 2}, 1},
}

func TestReplaysEveryFixture(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.file, func(t *testing.T) {
			cfg := testConfig()
			path := filepath.Join("replay", "testdata", f.file)
			cfg.Replay, cfg.Events = []string{path}, uint64(3*f.decodable) // three passes
			s := startServer(t, cfg)
			if bad := s.BadLines(); len(bad) != f.bad || (f.bad > 0 && (bad[0].Line != f.firstBadAt || bad[0].File != path ||
				!strings.Contains(bad[0].Err.Error(), "unknown field"))) {
				t.Fatalf("bad lines: %v", bad)
			}
			got, _ := receive(t, testCtx(t), dial(t, s.Target()), &tetragon.GetEventsRequest{}, 3*f.decodable)
			counts := countTypes(got)
			for typ, n := range f.typesOnce {
				if counts[typ] != 3*n {
					t.Errorf("%s: %d, want %d", typ, counts[typ], 3*n)
				}
			}
			seen := map[string]bool{}
			for _, r := range got {
				k := r.NodeName + "|" + eventtype.FromResponse(r) + "|" + r.Time.AsTime().String() + "|" + helpers.ResponseGetProcess(r).GetExecId()
				if seen[k] {
					t.Fatalf("replayed identity repeats: %s", k)
				}
				seen[k] = true
			}
		})
	}
}

func TestReplayWithoutEventsIsAConfigError(t *testing.T) {
	cfg := testConfig()
	cfg.Replay = []string{filepath.Join("replay", "testdata", "PROVENANCE.md")}
	_, err := New(cfg)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Flag != "replay" {
		t.Fatalf("err = %v", err)
	}
}

func TestDuplicatesAreTheSameEventLater(t *testing.T) {
	const n = 2000
	cfg := testConfig()
	cfg.Events, cfg.DupRatio, cfg.Record = n, 0.1, true
	s := startServer(t, cfg)
	want := n + ExpectedDuplicates(n, 0.1)
	if want != 2200 {
		t.Fatalf("ExpectedDuplicates = %d", want-n)
	}
	got, _ := receive(t, testCtx(t), dial(t, s.Target()), &tetragon.GetEventsRequest{}, int(want))
	waitDone(t, s)
	if sum(s.Stats().Duplicates) != want-n || sum(s.Stats().Distinct) != n {
		t.Fatalf("stats %+v", s.Stats())
	}
	recs := s.Records()
	if uint64(len(recs)) != want {
		t.Fatalf("%d records", len(recs))
	}
	var dups, differentBytes, adjacent int
	for i, r := range recs {
		if !r.Dup {
			continue
		}
		dups++
		orig := recs[r.Orig-1]
		if orig.Dup || orig.Seq != r.Orig {
			t.Fatalf("dup %d points at %d", r.Seq, r.Orig)
		}
		if r.Seq == r.Orig+1 {
			adjacent++
		}
		// What the client received at both positions is the same event.
		if !proto.Equal(got[i], got[r.Orig-1]) {
			t.Fatalf("duplicate %d is not the same event as %d", r.Seq, r.Orig)
		}
		if r.Time != orig.Time || r.ExecID != orig.ExecID || r.Node != orig.Node || r.Tid != orig.Tid {
			t.Fatalf("duplicate identity differs")
		}
		if !bytes.Equal(r.Bytes, orig.Bytes) {
			differentBytes++
		}
	}
	if uint64(dups) != want-n {
		t.Fatalf("%d duplicates", dups)
	}
	if adjacent > dups/2 {
		t.Errorf("%d of %d duplicates follow their original back to back", adjacent, dups)
	}
	// Re-marshalling shuffles pod labels; some must come out different.
	if differentBytes == 0 {
		t.Error("no duplicate differs in bytes: not re-marshalled?")
	}
}

func TestTwoRunsSameSeedNewIdentities(t *testing.T) {
	run := func() []Sent {
		cfg := testConfig()
		cfg.Events, cfg.Record, cfg.Seed = 1000, true, 99
		s := startServer(t, cfg)
		receive(t, testCtx(t), dial(t, s.Target()), &tetragon.GetEventsRequest{}, 1000)
		waitDone(t, s)
		return s.Records()
	}
	a, b := run(), run()
	ids := map[string]bool{}
	for _, r := range a {
		ids[r.ExecID] = true
	}
	for i := range a {
		if a[i].Type != b[i].Type || a[i].Node != b[i].Node {
			t.Fatalf("event %d: %s@%s vs %s@%s", i, a[i].Type, a[i].Node, b[i].Type, b[i].Node)
		}
		ra, _ := a[i].Decode()
		rb, _ := b[i].Decode()
		pa, pb := helpers.ResponseGetProcess(ra), helpers.ResponseGetProcess(rb)
		if pa.GetBinary() != pb.GetBinary() || pa.GetPod().GetName() != pb.GetPod().GetName() {
			t.Fatalf("event %d content differs", i)
		}
		if b[i].ExecID != "" && ids[b[i].ExecID] {
			t.Fatalf("exec_id %s in both runs", b[i].ExecID)
		}
		if a[i].Time == b[i].Time && a[i].ExecID == b[i].ExecID {
			t.Fatalf("event %d identity repeats", i)
		}
	}
}

// reference filter over decoded events, written independently of the
// server's metadata-based one.
func matchRef(r *tetragon.GetEventsResponse, types []string, namespaces []string, binaryDeny *regexp.Regexp) bool {
	p := helpers.ResponseGetProcess(r)
	if !slices.Contains(types, eventtype.FromResponse(r)) || p == nil {
		return false
	}
	if !slices.Contains(namespaces, p.GetPod().GetNamespace()) {
		return false
	}
	return !binaryDeny.MatchString(p.Binary)
}

func TestAllowDenyLists(t *testing.T) {
	const n = 4000
	cfg := testConfig()
	cfg.Events, cfg.Record, cfg.WaitClients = n, true, 2
	s := startServer(t, cfg)
	ctx := testCtx(t)
	c := dial(t, s.Target())

	// Refused filters are errors, not silently ignored.
	for _, f := range []*tetragon.Filter{{Labels: []string{"app=x"}}, {BinaryRegex: []string{"("}}} {
		st, err := c.GetEvents(ctx, &tetragon.GetEventsRequest{AllowList: []*tetragon.Filter{f}})
		if err == nil {
			_, err = st.Recv()
		}
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("filter %v: %v", f, err)
		}
	}

	req := &tetragon.GetEventsRequest{
		AllowList: []*tetragon.Filter{{
			EventSet:  []tetragon.EventType{tetragon.EventType_PROCESS_EXEC, tetragon.EventType_PROCESS_KPROBE},
			Namespace: []string{"kube-system", ""}, // "" = host processes
		}},
		DenyList: []*tetragon.Filter{{BinaryRegex: []string{"^/usr/bin/kubelet$"}}},
	}
	filtered, err := c.GetEvents(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := receive(t, ctx, c, &tetragon.GetEventsRequest{}, n) // second client: generation starts
	deny := regexp.MustCompile("^/usr/bin/kubelet$")
	var want []*tetragon.GetEventsResponse
	for _, r := range all {
		if matchRef(r, []string{"process_exec", "process_kprobe"}, []string{"kube-system", ""}, deny) {
			want = append(want, r)
		}
	}
	if len(want) < 100 {
		t.Fatalf("only %d events match; the test needs more", len(want))
	}
	got := recvN(t, filtered, len(want))
	for i := range want {
		if !proto.Equal(want[i], got[i]) {
			t.Fatalf("filtered event %d differs", i)
		}
	}
	var host, kube int
	for _, r := range got {
		if helpers.ResponseGetProcess(r).Pod == nil {
			host++
		} else {
			kube++
		}
	}
	if host == 0 || kube == 0 {
		t.Fatalf("host %d kube-system %d", host, kube)
	}
	eventually(t, "filter books", func() bool {
		for _, cs := range s.Stats().Clients {
			if cs.Delivered == uint64(len(want)) && cs.Filtered == uint64(n-len(want)) {
				return true
			}
		}
		return false
	})
}

func TestSlowClientDropsAreCounted(t *testing.T) {
	const n = 3000
	cfg := testConfig()
	cfg.Events, cfg.Rate, cfg.Queue = n, 1e6, 10 // a rate: full queues drop
	s := startServer(t, cfg)
	// A small fixed flow-control window, so a client that does not read
	// holds ~64 KiB in flight and the rest backs up into the queue.
	c := dial(t, s.Target(), grpc.WithInitialWindowSize(65535), grpc.WithInitialConnWindowSize(65535))
	st, err := c.GetEvents(testCtx(t), &tetragon.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, s) // not reading meanwhile
	cs := s.Stats().Clients[0]
	if cs.Dropped == 0 || cs.Enqueued+cs.Dropped != n {
		t.Fatalf("client books %+v", cs)
	}
	if s.Stats().Dropped["queue_full"] != cs.Dropped {
		t.Fatalf("server books %v", s.Stats().Dropped)
	}
	recvN(t, st, int(cs.Enqueued)) // everything queued does arrive
	eventually(t, "delivered", func() bool { return s.Stats().Clients[0].Delivered == cs.Enqueued })
}

func TestStopAndRestartMidStream(t *testing.T) {
	const n = 10000
	cfg := testConfig()
	cfg.Events, cfg.Record, cfg.Queue = n, true, 50 // rate 0: the pump waits for this client
	s := startServer(t, cfg)
	addr := s.Addr().String()
	ctx := testCtx(t)
	c := dial(t, s.Target())
	st, err := c.GetEvents(ctx, &tetragon.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := recvN(t, st, 1000)
	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	for { // the stream ends with Unavailable after what was queued
		r, err := st.Recv()
		if err != nil {
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("stream ended with %v", err)
			}
			break
		}
		got = append(got, r)
	}
	<-stopped
	if len(got) >= n {
		t.Fatalf("stop came too late to test anything: %d", len(got))
	}
	if err := s.Start(addr); err != nil {
		t.Fatal(err)
	}
	st2, err := c.GetEvents(ctx, &tetragon.GetEventsRequest{}, grpc.WaitForReady(true))
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, recvN(t, st2, n-len(got))...)
	waitDone(t, s)
	recs := s.Records()
	if len(recs) != n {
		t.Fatalf("%d records", len(recs))
	}
	for i, r := range recs {
		want, _ := r.Decode()
		if !proto.Equal(want, got[i]) {
			t.Fatalf("event %d: received differs from sent (lost or repeated across restart)", i)
		}
	}
	if d := s.Stats().Dropped; len(d) != 0 {
		t.Fatalf("drops %v", d)
	}
}

func TestUnixSocketStaleFileAndInfo(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tetragon.sock")
	// A stale socket, as a crashed process leaves it.
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Events = 10
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Start("unix://" + path); err != nil {
		t.Fatal(err)
	}
	if s.Target() != "unix://"+path {
		t.Fatalf("target %s", s.Target())
	}
	c := dial(t, s.Target())
	ctx := testCtx(t)
	receive(t, ctx, c, &tetragon.GetEventsRequest{}, 10)
	v, err := c.GetVersion(ctx, &tetragon.GetVersionRequest{})
	if err != nil || !strings.HasPrefix(v.Version, "tetragon-sim "+Version) || !strings.HasSuffix(v.Version, "(api v1.7.1)") {
		t.Fatalf("version %v %v", v, err)
	}
	h, err := c.GetHealth(ctx, &tetragon.GetHealthStatusRequest{})
	if err != nil || h.HealthStatus[0].Status != tetragon.HealthStatusResult_HEALTH_STATUS_RUNNING {
		t.Fatalf("health %v %v", h, err)
	}
	waitDone(t, s)
	info, err := c.GetInfo(ctx, &tetragon.GetInfoRequest{})
	if err != nil || info.Name != "tetragon-sim" || info.Version != v.Version {
		t.Fatalf("info %v %v", info, err)
	}
	conf := decodeConfAsTetragon(info.Conf)
	for k, v := range conf {
		if err, ok := v.(error); ok {
			t.Errorf("tetra info cannot show %s: %v", k, err)
		}
	}
	if sent := conf["sim.events_sent_distinct"]; sent != int64(10) {
		t.Fatalf("GetInfo reports %v (%T) sent", sent, sent)
	}
	// A live server's socket is not "stale".
	if _, err := Listen("unix://" + path); err == nil {
		t.Fatal("second listener on a live socket")
	}
	s.Stop()
	// A regular file in the way is not removed.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := Listen("unix://" + file); err == nil {
		t.Fatal("regular file replaced by a socket")
	}
}

func TestConfigErrorsNameTheFlag(t *testing.T) {
	for flag, mod := range map[string]func(*Config){
		"rate":         func(c *Config) { c.Rate = -1 },
		"dup-ratio":    func(c *Config) { c.DupRatio = 1.5 },
		"wait-clients": func(c *Config) { c.WaitClients = 0 },
		"queue":        func(c *Config) { c.Queue = 0 },
		"nodes":        func(c *Config) { c.Nodes = 0 },
		"namespaces":   func(c *Config) { c.Namespaces = 100 },
		"dup-delay":    func(c *Config) { c.DupDelayMin = -1 },
	} {
		c := testConfig()
		mod(&c)
		_, err := New(c)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Flag != flag {
			t.Errorf("%s: %v", flag, err)
		}
	}
}

func TestDepartedClientsAreBounded(t *testing.T) {
	cfg := testConfig()
	s := startServer(t, cfg)
	c := dial(t, s.Target())
	for i := range maxDeparted + 6 {
		ctx, cancel := context.WithCancel(testCtx(t))
		receive(t, ctx, c, &tetragon.GetEventsRequest{}, 1)
		cancel()
		eventually(t, "client gone", func() bool {
			for _, cs := range s.Stats().Clients {
				if cs.Connected {
					return false
				}
			}
			return true
		})
		if n := len(s.Stats().Clients); n != min(i+1, maxDeparted) {
			t.Fatalf("after %d clients, %d kept", i+1, n)
		}
	}
}
