package sim

import (
	"context"
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"

	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/source"
)

// armedWithoutClients is a server whose stream has started (a client was
// there) with nobody connected now.
func armedWithoutClients(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Record = true
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.mu.Lock()
	s.armed = true
	s.mu.Unlock()
	return s
}

// Paced by its clients (Rate 0), the stream has no pace without one: an
// event the pump takes while the last client is leaving is kept for the
// next client, not sent to nobody.
func TestHandOutWithoutClientsKeepsTheEventWhenPacedByClients(t *testing.T) {
	s := armedWithoutClients(t, testConfig())
	if s.handOut(&frame{ev: source.Event{Type: "process_exec", Bytes: []byte{1}}}) {
		t.Fatal("handed an event out to no client")
	}
	if sent, recs := s.Sent(), s.Records(); len(sent) != 0 || len(recs) != 0 || s.Stats().Dropped["no_client"] != 0 {
		t.Fatalf("sent %v, records %d, dropped %v", sent, len(recs), s.Stats().Dropped)
	}
}

// With a rate, an event with no client to take it is sent and lost, as a
// node's event is while no agent reads the stream, and counted as such.
func TestHandOutWithoutClientsCountsTheLossWithARate(t *testing.T) {
	cfg := testConfig()
	cfg.Rate = 1000
	s := armedWithoutClients(t, cfg)
	if !s.handOut(&frame{ev: source.Event{Type: "process_exec", Bytes: []byte{1}}}) {
		t.Fatal("event kept back: the node's clock does not stop for a missing reader")
	}
	recs := s.Records()
	if s.Sent()["process_exec"] != 1 || len(recs) != 1 || !recs[0].NoClient || s.Stats().Dropped["no_client"] != 1 {
		t.Fatalf("sent %v, records %+v, dropped %v", s.Sent(), recs, s.Stats().Dropped)
	}
}

// End to end: a client reads, leaves, and comes back; the stream ran all
// along at its rate, and every send is in exactly one book.
func TestStreamRunsWithoutClientsAndBooksTheLoss(t *testing.T) {
	cfg := testConfig()
	cfg.Rate, cfg.Record = 2000, true
	s := startServer(t, cfg)
	c := dial(t, s.Target())
	ctx, cancel := context.WithCancel(testCtx(t))
	receive(t, ctx, c, &tetragon.GetEventsRequest{}, 50)
	cancel()
	eventually(t, "client gone", func() bool { return len(s.Stats().Clients) == 1 && !s.Stats().Clients[0].Connected })
	eventually(t, "events generated with no client", func() bool { return s.Stats().Dropped["no_client"] >= 200 })
	receive(t, testCtx(t), c, &tetragon.GetEventsRequest{}, 50)
	s.Stop()

	st := s.Stats()
	var handed uint64
	for _, cs := range st.Clients {
		handed += cs.Enqueued + cs.Dropped + cs.Filtered
	}
	sends := sum(st.Distinct) + sum(st.Duplicates)
	if sends != handed+st.Dropped["no_client"] {
		t.Fatalf("%d sends, %d handed to clients + %d to no client; books %+v", sends, handed, st.Dropped["no_client"], st)
	}
	var flagged uint64
	for _, r := range s.Records() {
		if r.NoClient {
			flagged++
		}
	}
	if flagged != st.Dropped["no_client"] {
		t.Fatalf("%d records flagged NoClient, books say %d", flagged, st.Dropped["no_client"])
	}
}
