package processor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/commit"
)

// stallWatch tells a wedged replica from one that waits. Kubernetes
// restarts a pod whose liveness probe fails; that must happen to a replica
// that cannot make progress by itself (an output producer with every
// in-flight slot stuck, a processor restarting on the same message for
// ever) and never to every replica at once because Kafka is down, which a
// restart cannot fix and which would only add table recoveries to the
// outage.
//
// So the stall clock runs only while all of these hold: Kafka answers a
// metadata request (probed in the background), there is work (an assigned
// partition has messages in flight or behind its high-water mark, or the
// processor is not running although the pipeline is set up), and no
// assigned partition's commit moved forward past the highest mark seen for
// it (a restart loop that replays the same messages does not count), nor
// did the table recovery read anything. After stall of that, the replica
// is not live.
type stallWatch struct {
	stall    time.Duration
	rawTopic string
	reg      *commit.Registry
	// running reports whether the processor is running and joined.
	running func() bool
	// recovered is a counter that grows while tables recover.
	recovered func() int64
	now       func() time.Time

	mu        sync.Mutex
	armed     bool            // the pipeline is set up: work is expected
	reachable bool            // the last probe reached Kafka
	high      map[int32]int64 // highest committed mark seen, by partition
	recov     int64
	since     time.Time // start of the current stall (zero: none)
	why       string
}

func newStallWatch(stall time.Duration, rawTopic string, reg *commit.Registry, running func() bool, recovered func() int64) *stallWatch {
	return &stallWatch{stall: stall, rawTopic: rawTopic, reg: reg, running: running, recovered: recovered,
		now: time.Now, high: map[int32]int64{}}
}

// arm starts watching (the pipeline is set up; until then the replica
// waits for the raw topic, which /readyz reports).
func (w *stallWatch) arm() {
	w.mu.Lock()
	w.armed = true
	w.mu.Unlock()
}

// probed records whether Kafka answered.
func (w *stallWatch) probed(ok bool) {
	w.mu.Lock()
	w.reachable = ok
	w.mu.Unlock()
}

// sample looks at the partitions once; call it every few seconds.
func (w *stallWatch) sample() {
	running := w.running()
	parts := w.reg.Snapshot()
	recov := w.recovered()

	w.mu.Lock()
	defer w.mu.Unlock()
	// Table recovery is progress only while the processor is not running:
	// hot standby tables keep reading while a wedged processor does not.
	progress := !running && recov != w.recov
	w.recov = recov
	work := ""
	if !running {
		work = "the processor is not running"
	}
	for _, p := range parts {
		if p.Topic != w.rawTopic {
			continue
		}
		if h, ok := w.high[p.Partition]; p.Committed >= 0 && (!ok || p.Committed > h) {
			// Committed is -1 until this claim forwards a mark, so a claim
			// that only replays what it cannot finish never gets here.
			w.high[p.Partition] = p.Committed
			progress = true
		}
		if work == "" && (p.Pending > 0 || p.Lag() > 0) {
			work = fmt.Sprintf("partition %d has %d messages in flight and a lag of %d", p.Partition, p.Pending, p.Lag())
		}
	}
	if !w.armed || !w.reachable || work == "" || progress {
		w.since, w.why = time.Time{}, ""
		return
	}
	if w.since.IsZero() {
		w.since = w.now()
	}
	w.why = work
}

// Live is the liveness check: an error once the stall lasted w.stall.
func (w *stallWatch) Live() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.since.IsZero() {
		return nil
	}
	if d := w.now().Sub(w.since); d >= w.stall {
		return fmt.Errorf("no progress for %s although Kafka is reachable: %s", d.Round(time.Second), w.why)
	}
	return nil
}

// run samples every interval and probes Kafka with probe, until ctx ends.
func (w *stallWatch) run(ctx context.Context, interval time.Duration, probe func() error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		// The probe may take a while against a dead broker (sarama's
		// metadata retries): sample after it, with its fresh answer.
		w.probed(probe() == nil)
		w.sample()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
