package sim

import (
	"testing"

	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/source"
)

// An event the pump takes while the last client is leaving is kept for the
// next client, not counted as sent to nobody: every sent event must show up
// in some client's books (delivered, dropped, lost or filtered).
func TestHandOutWithoutClientsKeepsTheEvent(t *testing.T) {
	cfg := testConfig()
	cfg.Record = true
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Armed (a client was there) but nobody connected now.
	s.mu.Lock()
	s.armed = true
	s.mu.Unlock()
	if s.handOut(&frame{ev: source.Event{Type: "process_exec", Bytes: []byte{1}}}) {
		t.Fatal("handed an event out to no client")
	}
	if sent, recs := s.Sent(), s.Records(); len(sent) != 0 || len(recs) != 0 {
		t.Fatalf("sent %v, records %d: an event nobody got counts as sent", sent, len(recs))
	}
}
