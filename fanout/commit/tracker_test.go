package commit

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// deliver records messages with the given offsets (marks are offset+1).
func deliver(t *Tracker, offsets ...int64) {
	for _, o := range offsets {
		t.Delivered(o + 1)
	}
}

func expectForward(t *testing.T, tr *Tracker, mark, want int64) {
	t.Helper()
	got, ok := tr.Done(mark)
	if want < 0 {
		if ok {
			t.Fatalf("Done(%d) forwarded %d, want nothing", mark, got)
		}
		return
	}
	if !ok || got != want {
		t.Fatalf("Done(%d) = %d,%v, want %d,true", mark, got, ok, want)
	}
}

func TestTrackerInOrder(t *testing.T) {
	tr := NewTracker()
	deliver(tr, 0, 1, 2)
	expectForward(t, tr, 1, 1)
	expectForward(t, tr, 2, 2)
	expectForward(t, tr, 3, 3)
	if s := tr.State(); s.Pending != 0 || s.Committed != 3 || s.OldestPending != -1 {
		t.Fatalf("state %+v", s)
	}
}

func TestTrackerOutOfOrder(t *testing.T) {
	tr := NewTracker()
	deliver(tr, 0, 1, 2, 3, 4)
	// The dropped duplicate at offset 1 and the fast output at 2 finish
	// first: nothing may be forwarded while offset 0 is in flight.
	expectForward(t, tr, 3, -1)
	expectForward(t, tr, 2, -1)
	if s := tr.State(); s.Committed != -1 || s.Pending != 5 || s.OldestPending != 1 {
		t.Fatalf("state %+v", s)
	}
	expectForward(t, tr, 1, 3) // 0 done: prefix 0,1,2 is finished
	expectForward(t, tr, 5, -1)
	expectForward(t, tr, 4, 5)
	if s := tr.State(); s.Pending != 0 || s.Committed != 5 {
		t.Fatalf("state %+v", s)
	}
}

func TestTrackerOffsetGaps(t *testing.T) {
	// Compacted topics and transaction markers leave gaps: the prefix follows
	// delivery order, not offset+1.
	tr := NewTracker()
	deliver(tr, 10, 13, 20)
	expectForward(t, tr, 14, -1)
	expectForward(t, tr, 11, 14)
	expectForward(t, tr, 21, 21)
}

func TestTrackerUnknownAndRepeatedMarks(t *testing.T) {
	tr := NewTracker()
	deliver(tr, 5, 6)
	expectForward(t, tr, 100, -1) // never delivered
	expectForward(t, tr, 6, 6)
	expectForward(t, tr, 6, -1) // already covered
	expectForward(t, tr, 7, 7)
	expectForward(t, tr, 7, -1) // already covered
	if s := tr.State(); s.Unknown != 3 {
		t.Fatalf("unknown = %d, want 3", s.Unknown)
	}
	deliver(tr, 7)
	expectForward(t, tr, 8, 8)
}

func TestTrackerDoneTwiceWhilePending(t *testing.T) {
	tr := NewTracker()
	deliver(tr, 0, 1)
	expectForward(t, tr, 2, -1)
	expectForward(t, tr, 2, -1)
	expectForward(t, tr, 1, 2)
}

func TestTrackerNewClaimStartsEmpty(t *testing.T) {
	// After a rebalance the claim restarts from the committed offset; its
	// tracker must not wait for messages of the previous session.
	old := NewTracker()
	deliver(old, 0, 1, 2)
	expectForward(t, old, 2, -1)

	tr := NewTracker()
	deliver(tr, 0, 1, 2)
	expectForward(t, tr, 1, 1)
	expectForward(t, tr, 3, -1)
	expectForward(t, tr, 2, 3)
}

func TestTrackerDeliveryGoesBackwards(t *testing.T) {
	tr := NewTracker()
	deliver(tr, 5, 6)
	deliver(tr, 3) // a claim never does this; tracking restarts from here
	expectForward(t, tr, 6, -1)
	expectForward(t, tr, 4, 4)
}

func TestTrackerCompacts(t *testing.T) {
	tr := NewTracker()
	const n = 100000
	for i := int64(0); i < n; i++ {
		tr.Delivered(i + 1)
		if i >= 10 { // keep ten in flight, finishing the oldest
			if _, ok := tr.Done(i - 9); !ok {
				t.Fatalf("Done(%d) did not forward", i-9)
			}
		}
	}
	if cap(tr.pending) > 8192 {
		t.Fatalf("pending grew to cap %d with 10 in flight", cap(tr.pending))
	}
	if s := tr.State(); s.Pending != 10 || s.OldestPending != n-9 {
		t.Fatalf("state %+v", s)
	}
}

// TestTrackerRandom finishes randomly gapped offsets in random order and
// checks the invariant after every step: the forwarded mark never passes an
// unfinished message, never goes back, and ends at the last message.
func TestTrackerRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		tr := NewTracker()
		n := 1 + rng.IntN(300)
		offsets := make([]int64, n)
		o := int64(rng.IntN(1000))
		for i := range offsets {
			offsets[i] = o
			o += 1 + int64(rng.IntN(3)) // gaps
		}
		deliver(tr, offsets...)
		order := rng.Perm(n)
		done := make([]bool, n)
		last := int64(-1)
		for _, i := range order {
			done[i] = true
			m, ok := tr.Done(offsets[i] + 1)
			if ok {
				if m <= last {
					t.Fatalf("round %d: forwarded %d after %d", round, m, last)
				}
				last = m
			}
			// every message below the forwarded mark must be done
			for j, off := range offsets {
				if off+1 <= last && !done[j] {
					t.Fatalf("round %d: forwarded %d past unfinished offset %d", round, last, off)
				}
			}
		}
		if want := offsets[n-1] + 1; last != want {
			t.Fatalf("round %d: final mark %d, want %d", round, last, want)
		}
	}
}

func TestTrackerConcurrent(t *testing.T) {
	tr := NewTracker()
	const n = 20000
	for i := int64(0); i < n; i++ {
		tr.Delivered(i + 1)
	}
	var (
		mu        sync.Mutex
		forwarded []int64
		wg        sync.WaitGroup
	)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(w); i < n; i += 8 {
				tr.DoneAndForward(i+1, func(m int64) {
					mu.Lock()
					forwarded = append(forwarded, m)
					mu.Unlock()
				})
			}
		}()
	}
	wg.Wait()
	for i := 1; i < len(forwarded); i++ {
		if forwarded[i] <= forwarded[i-1] {
			t.Fatalf("forwarded marks not increasing: %d then %d", forwarded[i-1], forwarded[i])
		}
	}
	if len(forwarded) == 0 || forwarded[len(forwarded)-1] != n {
		t.Fatalf("last forwarded mark %v, want %d", forwarded, n)
	}
}
