package commit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// fakeSession records the marks that reach sarama.
type fakeSession struct {
	ctx context.Context

	mu    sync.Mutex
	marks map[int32][]int64
}

func (s *fakeSession) Claims() map[string][]int32 { return map[string][]int32{"raw": {0, 1}} }
func (s *fakeSession) MemberID() string           { return "m" }
func (s *fakeSession) GenerationID() int32        { return 1 }
func (s *fakeSession) MarkOffset(_ string, p int32, off int64, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marks[p] = append(s.marks[p], off)
}
func (s *fakeSession) Commit()                                  {}
func (s *fakeSession) ResetOffset(string, int32, int64, string) {}
func (s *fakeSession) MarkMessage(m *sarama.ConsumerMessage, _ string) {
	panic("not used by the wrapper")
}
func (s *fakeSession) Context() context.Context { return s.ctx }

func (s *fakeSession) got(p int32) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.marks[p]...)
}

type fakeClaim struct {
	partition int32
	ch        chan *sarama.ConsumerMessage
}

func (c *fakeClaim) Topic() string                            { return "raw" }
func (c *fakeClaim) Partition() int32                         { return c.partition }
func (c *fakeClaim) InitialOffset() int64                     { return 0 }
func (c *fakeClaim) HighWaterMarkOffset() int64               { return 100 }
func (c *fakeClaim) Messages() <-chan *sarama.ConsumerMessage { return c.ch }

// recordingHandler stands in for goka: it hands every message it reads to
// the test, which finishes them in any order through the session it got.
type recordingHandler struct {
	sess chan sarama.ConsumerGroupSession
	msgs chan *sarama.ConsumerMessage
}

func (h *recordingHandler) Setup(s sarama.ConsumerGroupSession) error { h.sess <- s; return nil }
func (h *recordingHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *recordingHandler) ConsumeClaim(_ sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.msgs <- m
	}
	return nil
}

func TestWrapperForwardsOnlyFinishedPrefix(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	real := &fakeSession{ctx: ctx, marks: map[int32][]int64{}}
	inner := &recordingHandler{sess: make(chan sarama.ConsumerGroupSession, 1), msgs: make(chan *sarama.ConsumerMessage, 100)}
	reg := NewRegistry()
	var sessions [][]int32
	reg.OnSession = func(c map[string][]int32) { sessions = append(sessions, c["raw"]) }
	h := &handler{inner: inner, reg: reg}

	if err := h.Setup(real); err != nil {
		t.Fatal(err)
	}
	ws := <-inner.sess
	if !reg.Joined() {
		t.Fatal("registry not joined after Setup")
	}

	claims := map[int32]*fakeClaim{0: {0, make(chan *sarama.ConsumerMessage)}, 1: {1, make(chan *sarama.ConsumerMessage)}}
	var wg sync.WaitGroup
	for _, c := range claims {
		wg.Add(1)
		go func() { defer wg.Done(); _ = h.ConsumeClaim(real, c) }()
	}
	// partition 0 delivers offsets 0,1,2,5 (gap), partition 1 delivers 7,8
	for _, o := range []int64{0, 1, 2, 5} {
		claims[0].ch <- &sarama.ConsumerMessage{Topic: "raw", Partition: 0, Offset: o}
	}
	for _, o := range []int64{7, 8} {
		claims[1].ch <- &sarama.ConsumerMessage{Topic: "raw", Partition: 1, Offset: o}
	}
	for range 6 {
		select {
		case <-inner.msgs:
		case <-time.After(5 * time.Second):
			t.Fatal("messages not forwarded to the inner handler")
		}
	}

	// goka marks offset+1. Finish p0 out of order: 2, 5, 1, then 0.
	ws.MarkOffset("raw", 0, 3, "")
	ws.MarkOffset("raw", 0, 6, "")
	ws.MarkMessage(&sarama.ConsumerMessage{Topic: "raw", Partition: 0, Offset: 1}, "")
	if got := real.got(0); len(got) != 0 {
		t.Fatalf("forwarded %v while offset 0 is unfinished", got)
	}
	ws.MarkOffset("raw", 0, 1, "")
	if got := real.got(0); len(got) != 1 || got[0] != 6 {
		t.Fatalf("partition 0 marks %v, want [6]", got)
	}
	// p1 is independent of p0
	ws.MarkOffset("raw", 1, 9, "")
	ws.MarkOffset("raw", 1, 8, "")
	if got := real.got(1); len(got) != 1 || got[0] != 9 {
		t.Fatalf("partition 1 marks %v, want [9]", got)
	}

	snap := reg.Snapshot()
	if len(snap) != 2 || snap[0].Committed != 6 || snap[1].Committed != 9 || snap[0].Lag() != 100-6 {
		t.Fatalf("snapshot %+v", snap)
	}

	for _, c := range claims {
		close(c.ch)
	}
	wg.Wait()
	if err := h.Cleanup(real); err != nil {
		t.Fatal(err)
	}
	if reg.Joined() || len(reg.Snapshot()) != 0 {
		t.Fatal("registry still holds the session after Cleanup")
	}
	if len(sessions) != 2 || len(sessions[0]) != 2 || sessions[1] != nil {
		t.Fatalf("OnSession calls %v", sessions)
	}
}

func TestLag(t *testing.T) {
	cases := []struct {
		name string
		p    PartitionState
		want int64
	}{
		{"pending", PartitionState{State: State{OldestPending: 11, LastDelivered: 20}, HighWaterMark: 30}, 20},
		{"idle", PartitionState{State: State{OldestPending: -1, LastDelivered: 30}, HighWaterMark: 30}, 0},
		{"nothing delivered", PartitionState{State: State{OldestPending: -1, LastDelivered: -1}, InitialOffset: 5, HighWaterMark: 30}, 25},
		{"sentinel start", PartitionState{State: State{OldestPending: -1, LastDelivered: -1}, InitialOffset: sarama.OffsetOldest, HighWaterMark: 30}, 0},
	}
	for _, c := range cases {
		if got := c.p.Lag(); got != c.want {
			t.Errorf("%s: lag %d, want %d", c.name, got, c.want)
		}
	}
}

// The unordered control forwards each mark as goka makes it (what goka
// does alone: sarama keeps the highest) while the registry still tracks the
// claim, so the fault suite's control run sees partitions and lag.
func TestUnorderedControlForwardsEveryMark(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	real := &fakeSession{ctx: ctx, marks: map[int32][]int64{}}
	inner := &recordingHandler{sess: make(chan sarama.ConsumerGroupSession, 1), msgs: make(chan *sarama.ConsumerMessage, 100)}
	reg := NewRegistry()
	h := &handler{inner: inner, reg: reg, unordered: true}
	if err := h.Setup(real); err != nil {
		t.Fatal(err)
	}
	ws := <-inner.sess
	c := &fakeClaim{0, make(chan *sarama.ConsumerMessage)}
	done := make(chan struct{})
	go func() { defer close(done); _ = h.ConsumeClaim(real, c) }()
	for _, o := range []int64{0, 1, 2} {
		c.ch <- &sarama.ConsumerMessage{Topic: "raw", Partition: 0, Offset: o}
	}
	for range 3 {
		select {
		case <-inner.msgs:
		case <-time.After(5 * time.Second):
			t.Fatal("messages not forwarded to the inner handler")
		}
	}
	ws.MarkOffset("raw", 0, 3, "") // offset 2 finished first: forwarded at once
	if got := real.got(0); len(got) != 1 || got[0] != 3 {
		t.Fatalf("marks %v, want [3] (goka's mark past unfinished offsets 0 and 1)", got)
	}
	if snap := reg.Snapshot(); len(snap) != 1 || snap[0].Pending != 3 {
		t.Fatalf("snapshot %+v: the claim is not tracked", snap)
	}
	ws.MarkOffset("raw", 0, 1, "")
	ws.MarkOffset("raw", 0, 2, "")
	if snap := reg.Snapshot(); len(snap) != 1 || snap[0].Pending != 0 || snap[0].Committed != 3 {
		t.Fatalf("snapshot %+v after every message finished", snap)
	}
	close(c.ch)
	<-done
	if err := h.Cleanup(real); err != nil {
		t.Fatal(err)
	}
}
