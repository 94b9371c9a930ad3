package processor

import (
	"testing"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/commit"
)

// TestStallWatchNeverBlamesKafka: a processor that is not running (it
// restarts on and on) stalls only while Kafka is reachable; while Kafka is
// down the clock does not run, and it starts from zero when Kafka is back.
func TestStallWatchNeverBlamesKafka(t *testing.T) {
	now := time.Unix(1000, 0)
	running, recovered := false, int64(0)
	w := newStallWatch(time.Minute, "raw", commit.NewRegistry(), func() bool { return running }, func() int64 { return recovered })
	w.now = func() time.Time { return now }
	step := func(reachable bool, d time.Duration) {
		w.probed(reachable)
		w.sample()
		now = now.Add(d)
	}
	step(true, 2*time.Minute) // not armed yet: waiting for the raw topic
	if err := w.Live(); err != nil {
		t.Fatalf("not live before the pipeline is set up: %v", err)
	}
	w.arm()
	for range 10 {
		step(false, time.Minute) // Kafka down for 10 minutes
	}
	if err := w.Live(); err != nil {
		t.Fatalf("not live while Kafka is down: %v", err)
	}
	step(true, 30*time.Second)
	if err := w.Live(); err != nil {
		t.Fatalf("not live 30s after Kafka came back: %v", err)
	}
	step(true, 31*time.Second)
	if err := w.Live(); err == nil {
		t.Fatal("live although the processor has not run for a minute with Kafka reachable")
	}
	// a long table recovery is progress
	recovered = 100
	step(true, 0)
	if err := w.Live(); err != nil {
		t.Fatalf("not live while the table recovers: %v", err)
	}
	running = true
	step(true, 2*time.Minute) // running, no partitions: no work
	if err := w.Live(); err != nil {
		t.Fatalf("an idle running replica is not live: %v", err)
	}
}
