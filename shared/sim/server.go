// Package sim is tetragon-sim as a library: a gRPC server implementing
// Tetragon's FineGuidanceSensors service (GetEvents for real, GetHealth,
// GetVersion and GetInfo truthfully) that streams synthetic or replayed
// events to every connected client, with optional duplicates, and keeps
// exact books of what it sent, delivered and dropped so tests can compare.
//
// Typical test use:
//
//	s, _ := sim.New(sim.Config{Events: 1000, Record: true, ...})
//	defer s.Close()
//	_ = s.Start("127.0.0.1:0")
//	... dial s.Target(), consume ...
//	<-s.Done()
//	sent := s.Records()
package sim

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/generate"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/replay"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/source"
)

// Sent is one event as sent to the clients.
type Sent struct {
	// Seq numbers sends from 1, duplicates included; a duplicate's Orig
	// is the Seq of the event it repeats.
	Seq, Orig uint64
	Dup       bool
	// NoClient: generated while no client was connected, so nobody
	// received it (Stats().Dropped["no_client"] counts these).
	NoClient bool
	Type     string
	Node     string
	Time     int64 // unix ns
	ExecID   string
	Tid      uint32
	// Bytes are the GetEventsResponse as sent; do not modify.
	Bytes []byte
}

// Decode unmarshals the sent bytes.
func (s Sent) Decode() (*tetragon.GetEventsResponse, error) {
	var r tetragon.GetEventsResponse
	if err := proto.Unmarshal(s.Bytes, &r); err != nil {
		return nil, fmt.Errorf("decode sent event %d: %w", s.Seq, err)
	}
	return &r, nil
}

// ExpectedDuplicates is the exact number of duplicates a run of n distinct
// events with the given ratio sends.
func ExpectedDuplicates(n uint64, ratio float64) uint64 {
	return (n*dupPPB(ratio) + dupUnit/2) / dupUnit
}

const dupUnit = 1_000_000_000

func dupPPB(r float64) uint64 { return uint64(r*dupUnit + 0.5) }

// rateLimitInfoType is the one event type Tetragon emits but never on its
// gRPC stream (see Config.RateLimitInfo).
var rateLimitInfoType = eventtype.FromFieldNumber(int32(tetragon.EventType_RATE_LIMIT_INFO))

// Server is a simulated Tetragon agent.
type Server struct {
	cfg   Config
	log   *slog.Logger
	src   source.Source
	nonce uint32
	bad   []replay.BadLine
	start time.Time
	block bool // Rate == 0: queues block instead of dropping

	mu        sync.Mutex
	cond      *sync.Cond
	clients   []*client
	history   []*client   // connected and recently departed clients
	evicted   ClientStats // books of departed clients dropped from history
	serving   bool
	armed     bool
	closed    bool
	gs        *grpc.Server
	lis       net.Listener
	stopCh    chan struct{} // closed when Stop begins
	abortCh   chan struct{} // closed when Stop gives up on a blocked hand-out
	stoppedCh chan struct{} // closed when Stop has finished
	serveErr  error
	snapshot  atomic.Pointer[[]*client]
	nextID    atomic.Uint64
	emitMu    sync.Mutex
	done      chan struct{}
	pumpDone  chan struct{}
	distinct  atomic.Uint64
	byType    map[string]*[2]atomic.Uint64 // distinct, duplicates
	dupFailed atomic.Uint64
	noClient  atomic.Uint64 // generated while no client was connected

	recMu   sync.Mutex
	records []Sent

	// pump goroutine state
	seq    uint64
	dupAcc uint64
	dups   dupHeap
	rng    *rand.Rand
}

// New builds a server and its event source; it does not listen yet.
// Replay files with undecodable lines are accepted (see BadLines); files
// with no decodable line are an error naming --replay.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: cfg.Logger, start: time.Now(), block: cfg.Rate == 0,
		done: make(chan struct{}), pumpDone: make(chan struct{}),
		byType: map[string]*[2]atomic.Uint64{eventtype.Unknown: {}},
		rng:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0xd0b)),
		dupAcc: dupUnit / 2, // so the count rounds: see ExpectedDuplicates
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.cond = sync.NewCond(&s.mu)
	for _, t := range eventtype.All() {
		s.byType[t] = &[2]atomic.Uint64{}
	}
	empty := []*client{}
	s.snapshot.Store(&empty)
	s.nonce = source.NewNonce()
	switch {
	case cfg.Source != nil:
		s.src = cfg.Source
	case len(cfg.Replay) > 0:
		set, err := replay.Load(cfg.Replay...)
		if set != nil {
			s.bad = set.Bad
			for _, b := range set.Bad {
				s.log.Warn("replay: skipping undecodable line", "at", b.String())
			}
			for _, f := range set.Files {
				s.log.Info("replay: loaded", "file", f.Path, "events", f.Events, "bad_lines", f.Bad)
			}
		}
		if err != nil {
			return nil, &ConfigError{Flag: "replay", Msg: err.Error()}
		}
		if !cfg.RateLimitInfo {
			if n := set.Drop(rateLimitInfoType); n > 0 {
				s.log.Info("replay: not sending rate_limit_info events: Tetragon writes them only to its export file, never to gRPC (--rate-limit-info sends them)",
					"dropped", n)
			}
			if set.Len() == 0 {
				return nil, cfgErr("replay", "%s: only rate_limit_info events, which Tetragon never sends on gRPC (--rate-limit-info sends them)",
					strings.Join(cfg.Replay, ", "))
			}
		}
		s.src = replay.NewSource(set, s.nonce, nil)
	default:
		g, err := generate.New(generate.Config{Seed: cfg.Seed, Nodes: cfg.Nodes, Namespaces: cfg.Namespaces,
			Pods: cfg.Pods, Cluster: cfg.Cluster, Nonce: s.nonce, RateLimitInfo: cfg.RateLimitInfo})
		if err != nil {
			return nil, fmt.Errorf("sim: generator: %w", err)
		}
		s.src = g
	}
	go s.pump()
	return s, nil
}

// Nonce is this server's identity nonce (in every exec_id it makes).
func (s *Server) Nonce() uint32 { return s.nonce }

// BadLines lists the replay lines that were skipped.
func (s *Server) BadLines() []replay.BadLine { return slices.Clone(s.bad) }

// Done is closed once the last of Events (and its duplicates) is sent.
// Streams stay open afterwards, as Tetragon's do.
func (s *Server) Done() <-chan struct{} { return s.done }

// Start listens on addr (see Listen) and serves in the background until
// Stop or Close. After Stop, Start again (same address or another)
// resumes the stream where it paused: no event is repeated or skipped.
func (s *Server) Start(addr string) error {
	l, err := Listen(addr)
	if err != nil {
		return err
	}
	if err := s.begin(l); err != nil {
		l.Close()
		return err
	}
	return nil
}

// ListenAndServe listens on addr and serves until ctx ends (then Stop).
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	l, err := Listen(addr)
	if err != nil {
		return err
	}
	return s.Serve(ctx, l)
}

// Serve serves on l until ctx ends or Stop is called, and returns once
// stopped: nil, or the error that made the gRPC server fail.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if err := s.begin(l); err != nil {
		l.Close()
		return err
	}
	s.mu.Lock()
	stopCh, stoppedCh := s.stopCh, s.stoppedCh
	s.mu.Unlock()
	select {
	case <-ctx.Done():
		s.Stop()
	case <-stopCh:
		<-stoppedCh
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serveErr
}

func (s *Server) begin(l net.Listener) error {
	opts := []grpc.ServerOption{grpc.ForceServerCodecV2(newRawCodec())}
	if s.cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(s.cfg.TLS)))
	}
	opts = append(opts, s.cfg.ServerOptions...)
	gs := grpc.NewServer(opts...)
	tetragon.RegisterFineGuidanceSensorsServer(gs, &service{s: s})

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("sim: server closed")
	}
	if s.serving {
		return errors.New("sim: already serving")
	}
	s.serving, s.gs, s.lis = true, gs, l
	s.stopCh, s.abortCh, s.stoppedCh = make(chan struct{}), make(chan struct{}), make(chan struct{})
	s.serveErr = nil
	go func() {
		if err := gs.Serve(l); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			s.log.Error("grpc serve failed", "err", err)
			s.mu.Lock()
			s.serveErr = fmt.Errorf("serve %s: %w", target(l.Addr()), err)
			s.mu.Unlock()
			go s.Stop()
		}
	}()
	s.log.Info("tetragon-sim listening", "addr", target(l.Addr()), "version", VersionString(),
		"wait_clients", s.cfg.WaitClients)
	return nil
}

// Addr is the address being served (nil when not serving).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lis == nil {
		return nil
	}
	return s.lis.Addr()
}

// Target is Addr as a gRPC dial target ("unix:///path" or "host:port").
func (s *Server) Target() string {
	if a := s.Addr(); a != nil {
		return target(a)
	}
	return ""
}

// Stop pauses generation, lets every client take what is already queued
// for it (up to StopTimeout), ends the streams with Unavailable and closes
// the listener. Every event counted as delivered was written to its
// client's stream before the stream ended.
func (s *Server) Stop() {
	s.mu.Lock()
	if !s.serving {
		s.mu.Unlock()
		return
	}
	s.serving, s.armed = false, false
	close(s.stopCh)
	gs, abort := s.gs, s.abortCh
	s.mu.Unlock()

	// Let an event being handed out reach every queue (clients keep
	// reading meanwhile); abandon it only for a client that does not.
	handed := make(chan struct{})
	go func() {
		s.emitMu.Lock()
		close(handed)
	}()
	select {
	case <-handed:
	case <-time.After(s.cfg.StopTimeout):
		close(abort)
		<-handed
	}
	s.emitMu.Unlock()
	s.mu.Lock()
	clients := slices.Clone(s.clients)
	s.mu.Unlock()
	for _, c := range clients {
		close(c.drain)
	}
	stopped := make(chan struct{})
	go func() {
		gs.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(s.cfg.StopTimeout):
		s.log.Warn("clients did not drain in time; closing connections", "timeout", s.cfg.StopTimeout)
		gs.Stop()
		<-stopped
	}
	s.mu.Lock()
	s.lis = nil
	close(s.stoppedCh)
	s.mu.Unlock()
	s.log.Info("tetragon-sim stopped")
	s.logSummary("stop")
}

// Close stops serving for good and ends generation.
func (s *Server) Close() {
	s.Stop()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	<-s.pumpDone
}

// Sent counts the events sent per type (our spelling), duplicates
// included: what a client connected throughout that filters nothing and
// drops nothing gets. Events generated while no client was connected count
// here too (Tetragon saw them happen) and again in Dropped["no_client"].
func (s *Server) Sent() map[string]uint64 {
	out := map[string]uint64{}
	for t, c := range s.byType {
		if n := c[0].Load() + c[1].Load(); n > 0 {
			out[t] = n
		}
	}
	return out
}

// Records returns every sent event in order (Config.Record only).
func (s *Server) Records() []Sent {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return slices.Clone(s.records)
}

// Stats is a snapshot of the server's books.
type Stats struct {
	Nonce      uint32
	Distinct   map[string]uint64 // per type
	Duplicates map[string]uint64 // per type
	// Dropped per reason: "queue_full" (a client's queue was full), "disconnected"
	// (queued for a client that went away or was stopped), "no_client"
	// (generated while no client was connected: nobody received it, as
	// Tetragon's events are lost while no agent reads its stream), "dup_failed".
	Dropped map[string]uint64
	Clients []ClientStats
	Done    bool
}

// ClientStats are one GetEvents stream's books. For a finished stream
// Enqueued = Delivered + Lost.
type ClientStats struct {
	ID        uint64
	Peer      string
	Connected bool
	Enqueued  uint64 // handed to its queue
	Delivered uint64 // written to its stream
	Filtered  uint64 // not matching its allow/deny lists
	Dropped   uint64 // queue full
	Lost      uint64 // queued or in hand when it disconnected
}

// Stats returns the current books.
func (s *Server) Stats() Stats {
	st := Stats{Nonce: s.nonce, Distinct: map[string]uint64{}, Duplicates: map[string]uint64{}, Dropped: map[string]uint64{}}
	for t, c := range s.byType {
		if n := c[0].Load(); n > 0 {
			st.Distinct[t] = n
		}
		if n := c[1].Load(); n > 0 {
			st.Duplicates[t] = n
		}
	}
	s.mu.Lock()
	hist, ev := slices.Clone(s.history), s.evicted
	s.mu.Unlock()
	st.Dropped["queue_full"], st.Dropped["disconnected"] = ev.Dropped, ev.Lost
	for _, c := range hist {
		cs := c.stats()
		st.Clients = append(st.Clients, cs)
		st.Dropped["queue_full"] += cs.Dropped
		st.Dropped["disconnected"] += cs.Lost
	}
	st.Dropped["dup_failed"] = s.dupFailed.Load()
	st.Dropped["no_client"] = s.noClient.Load()
	for k, v := range st.Dropped {
		if v == 0 {
			delete(st.Dropped, k)
		}
	}
	select {
	case <-s.done:
		st.Done = true
	default:
	}
	return st
}

func (s *Server) logSummary(why string) {
	st := s.Stats()
	attrs := []any{"why", why, "distinct", sum(st.Distinct), "duplicates", sum(st.Duplicates)}
	for _, t := range slices.Sorted(maps.Keys(st.Distinct)) {
		attrs = append(attrs, t, st.Distinct[t])
	}
	for _, r := range slices.Sorted(maps.Keys(st.Dropped)) {
		attrs = append(attrs, "dropped_"+r, st.Dropped[r])
	}
	s.log.Info("tetragon-sim sent", attrs...)
}

func sum(m map[string]uint64) (n uint64) {
	for _, v := range m {
		n += v
	}
	return n
}

// --- clients

type client struct {
	id     uint64
	peer   string
	filter *filterSet
	q      chan *frame
	done   chan struct{} // closed when its stream ends
	drain  chan struct{} // closed by Stop: flush the queue and end

	connected atomic.Bool
	enqueued  atomic.Uint64
	delivered atomic.Uint64
	filtered  atomic.Uint64
	dropped   atomic.Uint64
	lost      atomic.Uint64 // pushes abandoned on disconnect/stop
	lastWarn  atomic.Int64
}

func (c *client) stats() ClientStats {
	cs := ClientStats{ID: c.id, Peer: c.peer, Connected: c.connected.Load(), Enqueued: c.enqueued.Load(),
		Delivered: c.delivered.Load(), Filtered: c.filtered.Load(), Dropped: c.dropped.Load(), Lost: c.lost.Load()}
	if !cs.Connected {
		cs.Lost += cs.Enqueued - cs.Delivered
	}
	return cs
}

func (s *Server) attach(c *client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.serving {
		return errors.New("server stopping")
	}
	c.connected.Store(true)
	s.clients = append(s.clients, c)
	s.history = append(s.history, c)
	snap := slices.Clone(s.clients)
	s.snapshot.Store(&snap)
	s.log.Info("client connected", "client", c.id, "peer", c.peer, "clients", len(s.clients), "filtered", c.filter != nil)
	if !s.armed && len(s.clients) >= s.cfg.WaitClients {
		s.armed = true
		s.log.Info("starting the event stream", "clients", len(s.clients))
	}
	s.cond.Broadcast()
	return nil
}

func (s *Server) detach(c *client) {
	s.mu.Lock()
	s.clients = slices.DeleteFunc(s.clients, func(x *client) bool { return x == c })
	snap := slices.Clone(s.clients)
	s.snapshot.Store(&snap)
	c.connected.Store(false)
	close(c.done)
	s.evictDeparted()
	n := len(s.clients)
	generating := n == 0 && s.armed && !s.block
	s.cond.Broadcast()
	s.mu.Unlock()
	cs := c.stats()
	s.log.Info("client disconnected", "client", c.id, "clients", n, "delivered", cs.Delivered,
		"dropped_queue_full", cs.Dropped, "lost_on_disconnect", cs.Lost, "filtered", cs.Filtered)
	if generating {
		s.log.Warn("no client connected: events keep coming, as Tetragon's do, and are lost until one connects (dropped reason=no_client)",
			"dropped_no_client_so_far", s.noClient.Load())
	}
}

// maxDeparted bounds how many departed clients keep their own books (and
// queue memory); older ones are folded into Server.evicted, so a client
// that reconnects all day does not grow the server.
const maxDeparted = 64

func (s *Server) evictDeparted() {
	departed := 0
	for _, c := range s.history {
		if !c.connected.Load() {
			departed++
		}
	}
	for i := 0; departed > maxDeparted && i < len(s.history); {
		c := s.history[i]
		if c.connected.Load() {
			i++
			continue
		}
		cs := c.stats()
		s.evicted.Enqueued += cs.Enqueued
		s.evicted.Delivered += cs.Delivered
		s.evicted.Filtered += cs.Filtered
		s.evicted.Dropped += cs.Dropped
		s.evicted.Lost += cs.Lost
		s.history = slices.Delete(s.history, i, i+1)
		departed--
	}
}

// --- the pump: one goroutine takes events from the source and hands
// each, encoded once, to every client's queue.

type frame struct {
	ev   source.Event
	seq  uint64
	orig uint64
	dup  bool
}

type pendingDup struct {
	due time.Time
	f   *frame
}

type dupHeap []pendingDup

func (h dupHeap) Len() int           { return len(h) }
func (h dupHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h dupHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dupHeap) Push(x any)        { *h = append(*h, x.(pendingDup)) }
func (h *dupHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// waitRunnable blocks until events may flow; false when closed. waited
// reports whether it had to wait (the rate clock then restarts).
//
// Once armed, a stream with a rate runs whether or not a client is
// connected: a real node keeps producing events while its agent's reader
// (the ingester) restarts, and those events are lost. Pausing instead
// would make every restart look lossless. Only a stream paced by its
// clients (Rate 0) has no pace without one, and waits.
func (s *Server) waitRunnable() (ok, waited bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.closed && !(s.armed && (len(s.clients) > 0 || !s.block)) {
		waited = true
		s.cond.Wait()
	}
	return !s.closed, waited
}

func (s *Server) pump() {
	defer close(s.pumpDone)
	var (
		next      *frame // taken from the source, not yet handed out
		rateStart time.Time
		rateN     uint64
		finished  bool
	)
	for {
		ok, waited := s.waitRunnable()
		if !ok {
			return
		}
		now := time.Now()
		if waited || rateStart.IsZero() {
			rateStart, rateN = now, 0
		}
		if len(s.dups) > 0 && !s.dups[0].due.After(now) {
			if s.handOut(s.dups[0].f) {
				heap.Pop(&s.dups)
			}
			continue
		}
		if s.cfg.Events > 0 && s.distinct.Load() >= s.cfg.Events && next == nil {
			if len(s.dups) == 0 {
				if !finished {
					finished = true
					close(s.done)
					s.logSummary("all events sent")
				}
				s.mu.Lock()
				for !s.closed {
					s.cond.Wait()
				}
				s.mu.Unlock()
				return
			}
			s.sleep(s.dups[0].due.Sub(now))
			continue
		}
		if s.cfg.Rate > 0 {
			due := rateStart.Add(time.Duration(float64(rateN) / s.cfg.Rate * float64(time.Second)))
			if d := due.Sub(now); d > 0 {
				if len(s.dups) > 0 {
					d = min(d, s.dups[0].due.Sub(now))
				}
				s.sleep(d)
				continue
			}
		}
		if next == nil {
			ev, err := s.src.Next()
			if err != nil {
				s.log.Error("event source failed; no more events", "err", err)
				s.mu.Lock()
				for !s.closed {
					s.cond.Wait()
				}
				s.mu.Unlock()
				return
			}
			next = &frame{ev: ev}
		}
		if s.handOut(next) {
			s.distinct.Add(1)
			rateN++
			s.maybeDuplicate(next, now)
			next = nil
		}
	}
}

// sleep waits at most d, in slices short enough to notice Stop or Close.
func (s *Server) sleep(d time.Duration) {
	time.Sleep(max(0, min(d, 20*time.Millisecond)))
}

func (s *Server) maybeDuplicate(f *frame, now time.Time) {
	ppb := dupPPB(s.cfg.DupRatio)
	if ppb == 0 {
		return
	}
	s.dupAcc += ppb
	if s.dupAcc < dupUnit {
		return
	}
	s.dupAcc -= dupUnit
	// Re-marshal, as a second Tetragon stream would: same event, map
	// order (pod labels) free to differ.
	var m tetragon.GetEventsResponse
	b := []byte(nil)
	err := proto.Unmarshal(f.ev.Bytes, &m)
	if err == nil {
		b, err = proto.Marshal(&m)
	}
	if err != nil {
		s.dupFailed.Add(1)
		s.log.Error("cannot re-marshal event for its duplicate", "seq", f.seq, "err", err)
		return
	}
	d := s.cfg.DupDelayMin
	if span := s.cfg.DupDelayMax - s.cfg.DupDelayMin; span > 0 {
		d += time.Duration(s.rng.Int64N(int64(span) + 1))
	}
	ev := f.ev
	ev.Bytes = b
	heap.Push(&s.dups, pendingDup{due: now.Add(d), f: &frame{ev: ev, orig: f.seq, dup: true}})
}

// handOut gives f to every connected client; false if the server stopped
// before it could. With no client connected, a stream with a rate counts f
// as sent and lost (no_client); a stream paced by its clients keeps f for
// the next client (false).
func (s *Server) handOut(f *frame) bool {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.mu.Lock()
	ok, abort := s.armed, s.abortCh
	s.mu.Unlock()
	clients := *s.snapshot.Load()
	if !ok || (len(clients) == 0 && s.block) {
		return false
	}
	s.seq++
	f.seq = s.seq
	noClient := len(clients) == 0
	if noClient {
		s.noClient.Add(1)
	}
	for _, c := range clients {
		if !c.filter.match(&f.ev) {
			c.filtered.Add(1)
			continue
		}
		select {
		case c.q <- f:
			c.enqueued.Add(1)
			continue
		default:
		}
		if !s.block {
			c.dropped.Add(1)
			s.warnDrop(c)
			continue
		}
		select {
		case c.q <- f:
			c.enqueued.Add(1)
		case <-c.done:
			c.lost.Add(1)
		case <-abort:
			c.lost.Add(1)
		}
	}
	idx := 0
	if f.dup {
		idx = 1
	}
	ctr := s.byType[f.ev.Type]
	if ctr == nil {
		ctr = s.byType[eventtype.Unknown]
	}
	ctr[idx].Add(1)
	if s.cfg.Record || s.cfg.OnSend != nil {
		r := Sent{Seq: f.seq, Orig: f.orig, Dup: f.dup, NoClient: noClient, Type: f.ev.Type, Node: f.ev.Node,
			Time: f.ev.Time, ExecID: f.ev.ExecID, Tid: f.ev.Tid, Bytes: f.ev.Bytes}
		if s.cfg.Record {
			s.recMu.Lock()
			s.records = append(s.records, r)
			s.recMu.Unlock()
		}
		if s.cfg.OnSend != nil {
			s.cfg.OnSend(r)
		}
	}
	return true
}

func (s *Server) warnDrop(c *client) {
	now := time.Now().UnixNano()
	last := c.lastWarn.Load()
	if now-last < int64(5*time.Second) || !c.lastWarn.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("client too slow: queue full, dropping events for it", "client", c.id, "peer", c.peer,
		"dropped_total", c.dropped.Load(), "queue", s.cfg.Queue)
}
