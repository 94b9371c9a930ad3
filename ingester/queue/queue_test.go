package queue

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func pushAll(t *testing.T, q *Queue[int], vs ...int) (drops []Dropped, evicted []int) {
	t.Helper()
	for _, v := range vs {
		d, old, err := q.Push(context.Background(), v)
		if err != nil {
			t.Fatalf("push %d: %v", v, err)
		}
		drops = append(drops, d)
		if d == Oldest {
			evicted = append(evicted, old)
		}
	}
	return drops, evicted
}

func popAll(t *testing.T, q *Queue[int]) []int {
	t.Helper()
	out, err := q.PopBatch(context.Background(), nil, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDropNewestKeepsTheFirst(t *testing.T) {
	q := New[int](3, DropNewest)
	drops, _ := pushAll(t, q, 1, 2, 3, 4, 5)
	if drops[3] != Newest || drops[4] != Newest || drops[2] != None {
		t.Fatalf("drops = %v", drops)
	}
	if got := popAll(t, q); !equal(got, []int{1, 2, 3}) {
		t.Fatalf("queued = %v", got)
	}
}

func TestDropOldestKeepsTheLatest(t *testing.T) {
	q := New[int](3, DropOldest)
	drops, evicted := pushAll(t, q, 1, 2, 3, 4, 5)
	if drops[3] != Oldest || drops[4] != Oldest || drops[2] != None {
		t.Fatalf("drops = %v", drops)
	}
	if !equal(evicted, []int{1, 2}) {
		t.Fatalf("evicted = %v", evicted)
	}
	if got := popAll(t, q); !equal(got, []int{3, 4, 5}) {
		t.Fatalf("queued = %v", got)
	}
	// The ring wraps correctly after evictions.
	pushAll(t, q, 6, 7)
	if got := popAll(t, q); !equal(got, []int{6, 7}) {
		t.Fatalf("queued = %v", got)
	}
}

func TestBlockWaitsForRoomAndHonoursContext(t *testing.T) {
	q := New[int](2, Block)
	pushAll(t, q, 1, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, _, err := q.Push(ctx, 3); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("push on full queue = %v, want deadline", err)
	}
	done := make(chan error)
	go func() {
		_, _, err := q.Push(context.Background(), 3)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("push returned %v before room was made", err)
	case <-time.After(20 * time.Millisecond):
	}
	got, err := q.PopBatch(context.Background(), nil, 1)
	if err != nil || !equal(got, []int{1}) {
		t.Fatalf("pop = %v %v", got, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := popAll(t, q); !equal(got, []int{2, 3}) {
		t.Fatalf("queued = %v", got)
	}
}

func TestPopWaitsAndCloseDrains(t *testing.T) {
	q := New[int](4, DropNewest)
	got := make(chan []int)
	go func() {
		v, _ := q.PopBatch(context.Background(), nil, 10)
		got <- v
	}()
	time.Sleep(10 * time.Millisecond)
	pushAll(t, q, 7)
	if v := <-got; !equal(v, []int{7}) {
		t.Fatalf("pop = %v", v)
	}
	pushAll(t, q, 8, 9)
	q.Close()
	if _, _, err := q.Push(context.Background(), 10); !errors.Is(err, ErrClosed) {
		t.Fatalf("push after close = %v", err)
	}
	if v := popAll(t, q); !equal(v, []int{8, 9}) {
		t.Fatalf("pop after close = %v", v)
	}
	if _, err := q.PopBatch(context.Background(), nil, 10); !errors.Is(err, ErrClosed) {
		t.Fatalf("pop of closed empty queue = %v", err)
	}
}

func TestCloseWakesBlockedPusher(t *testing.T) {
	q := New[int](1, Block)
	pushAll(t, q, 1)
	done := make(chan error)
	go func() {
		_, _, err := q.Push(context.Background(), 2)
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	q.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked push after close = %v", err)
	}
	if d := q.Drain(); !equal(d, []int{1}) {
		t.Fatalf("drain = %v", d)
	}
}

// Under concurrency every pushed item is either popped or reported dropped,
// exactly once: the accounting the drop counters rely on.
func TestConcurrentAccounting(t *testing.T) {
	for _, p := range []Policy{Block, DropNewest, DropOldest} {
		t.Run(p.String(), func(t *testing.T) {
			q := New[int](64, p)
			const producers, each = 4, 20000
			seen := make([]int, producers*each)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for g := range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						v := g*each + i
						d, old, err := q.Push(context.Background(), v)
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						switch d {
						case Newest:
							seen[v]++
						case Oldest:
							seen[old]++
						}
						mu.Unlock()
					}
				}()
			}
			consumed := make(chan struct{})
			go func() {
				defer close(consumed)
				var buf []int
				for {
					var err error
					buf, err = q.PopBatch(context.Background(), buf[:0], 16)
					if err != nil {
						return
					}
					mu.Lock()
					for _, v := range buf {
						seen[v]++
					}
					mu.Unlock()
				}
			}()
			wg.Wait()
			q.Close()
			<-consumed
			for v, n := range seen {
				if n != 1 {
					t.Fatalf("item %d accounted %d times", v, n)
				}
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	for _, p := range []Policy{Block, DropNewest, DropOldest} {
		got, err := ParsePolicy(p.String())
		if err != nil || got != p {
			t.Fatalf("ParsePolicy(%q) = %v %v", p, got, err)
		}
	}
	if _, err := ParsePolicy("drop"); err == nil {
		t.Fatal("ParsePolicy accepted drop")
	}
}
