package processor

import (
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

// TestBrokerDedup: N distinct events and D injected duplicates (same key,
// later offsets) give exactly N outputs, each from its first copy, and D
// counted duplicates.
func TestBrokerDedup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 4)
	const n, d = 400, 100
	orig := e.produce(events(0, n))
	e.produce(dupsOf(orig, d))

	p := e.start("r1", nil, Options{})
	p.waitReady(60 * time.Second)
	outs := e.consumeAll(n, 60*time.Second)
	if len(outs) != n {
		t.Fatalf("%d outputs, want exactly %d", len(outs), n)
	}
	checkOutputs(t, orig, outs)
	waitFor(t, 30*time.Second, "duplicates counted", func() bool {
		return testutil.ToFloat64(p.r.Metrics().Duplicates) == d
	})
	if got := testutil.ToFloat64(p.r.Metrics().Partitions); got != 4 {
		t.Errorf("fanout_partitions_assigned %v, want 4", got)
	}
	if got := p.r.Store().Entries(); got != n {
		t.Errorf("table entries %d, want %d", got, n)
	}
	if got := testutil.ToFloat64(p.r.Metrics().Emitted.WithLabelValues(e.out)); got != n {
		t.Errorf("emitted %v, want %d", got, n)
	}
	if err := p.stop(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}
}

// TestBrokerCleanRestartNoRepeats: after a clean shutdown (SIGTERM) and a
// restart, the output holds no repeat at all, and duplicates of events
// from before the restart are still dropped (the table survived: from the
// changelog for memory storage, from local files for leveldb).
func TestBrokerCleanRestartNoRepeats(t *testing.T) {
	t.Parallel()
	for _, storage := range []string{"memory", "leveldb"} {
		t.Run(storage, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 3)
			extra := map[string]string{"TABLE_STORAGE": storage, "STATE_DIR": t.TempDir()}
			const n, m, d = 300, 200, 50
			first := e.produce(events(0, n))
			p1 := e.start("r1", extra, Options{})
			p1.waitReady(60 * time.Second)
			e.consumeAll(n, 60*time.Second)
			if err := p1.stop(); err != nil {
				t.Fatalf("clean stop: %v", err)
			}

			second := e.produce(events(n, m))
			e.produce(dupsOf(first, d))
			p2 := e.start("r1", extra, Options{})
			p2.waitReady(60 * time.Second)
			outs := e.consumeAll(n+m, 60*time.Second)
			if len(outs) != n+m {
				t.Fatalf("%d outputs after a clean restart, want exactly %d (no repeats)", len(outs), n+m)
			}
			if r := checkOutputs(t, append(first, second...), outs); r != 0 {
				t.Fatalf("%d repeats after a clean restart", r)
			}
			waitFor(t, 30*time.Second, "duplicates of pre-restart events dropped", func() bool {
				return testutil.ToFloat64(p2.r.Metrics().Duplicates) == d
			})
			if got := testutil.ToFloat64(p2.r.Metrics().Dedup.WithLabelValues("replay")); got != 0 {
				t.Errorf("%v replays after a clean shutdown, want 0", got)
			}
		})
	}
}

// TestBrokerCommitOrder shows what goka does on its own and what the commit
// wrapper changes. One partition: e0 (its output's ack held back), a
// duplicate of e0 (dropped: writes nothing, goka marks it at once), e1
// (acked at once). goka alone commits offset 3, past e0, whose output is
// still in flight: a crash now loses e0. With the wrapper nothing is
// committed until e0 is acked, then everything.
func TestBrokerCommitOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		unordered bool
		whileHeld int64
	}{
		{"goka alone commits past an unacked output", true, 3},
		{"wrapper holds the commit at the unacked output", false, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 1)
			evs := events(0, 2)
			gate := &gateSink{keys: map[string]bool{evs[0].key: true}, open: make(chan struct{})}
			opened := false
			open := func() {
				if !opened {
					opened = true
					close(gate.open)
				}
			}
			t.Cleanup(open)
			p := e.start("r1", nil, Options{UnorderedCommits: tc.unordered,
				WrapSink: func(s Sink) Sink { gate.Sink = s; return gate }})
			e.produce([]rawMsg{evs[0], evs[0], evs[1]})

			// e0 and e1 are on the output topic (e0's ack is held from goka
			// only), the duplicate is dropped
			waitFor(t, 60*time.Second, "both outputs and the dropped duplicate", func() bool {
				return e.outputCount() == 2 && testutil.ToFloat64(p.r.Metrics().Duplicates) == 1
			})
			time.Sleep(2500 * time.Millisecond) // > sarama's 1s auto-commit interval
			if got := e.committed(0); got != tc.whileHeld {
				t.Fatalf("committed offset %d while e0's ack is held, want %d", got, tc.whileHeld)
			}
			open()
			waitFor(t, 30*time.Second, "commit after the ack", func() bool { return e.committed(0) == 3 })
			if err := p.stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBrokerReplayAfterCrash: the table writes and outputs of raw offsets
// k..n-1 are acked by Kafka but never acknowledged to goka (so never
// committed) when the process is killed. The restarted fanout replays them:
// their entries name these very offsets, so each is emitted again (same key,
// same tf-raw), none dropped.
func TestBrokerReplayAfterCrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	const n, k = 50, 20
	orig := e.produce(events(0, n))

	c1 := e.startChild("r1", map[string]string{"FANOUT_TEST_HOLD_AFTER": strconv.Itoa(k)})
	c1.waitReady(60 * time.Second)
	waitFor(t, 60*time.Second, "all outputs of the first run", func() bool { return e.outputCount() == n })
	waitFor(t, 30*time.Second, "commit of the acked prefix", func() bool { return e.committed(0) == k })
	c1.kill()

	c2 := e.startChild("r1", nil)
	c2.waitReady(60 * time.Second)
	outs := e.consumeAll(n+(n-k), 60*time.Second)
	if len(outs) != n+(n-k) {
		t.Fatalf("%d outputs, want %d (the %d uncommitted events emitted again)", len(outs), n+(n-k), n-k)
	}
	if r := checkOutputs(t, orig, outs); r != n-k {
		t.Fatalf("%d re-emits, want %d", r, n-k)
	}
	waitFor(t, 10*time.Second, "replay verdicts", func() bool {
		return c2.metric("fanout_dedup_verdicts_total", `verdict="replay"`) == n-k
	})
	if got := c2.metric("fanout_duplicates_dropped_total", ""); got != 0 {
		t.Fatalf("%v replays dropped as duplicates", got)
	}
}

// TestBrokerKillNoLoss: acks reach goka out of order (random delays), the
// stream carries duplicates, and the process is killed with SIGKILL
// mid-stream. After a restart every event is in the output, and no
// duplicate slipped through.
func TestBrokerKillNoLoss(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 4)
	const n, d = 3000, 500
	orig := e.produce(events(0, n))
	e.produce(dupsOf(orig, d))

	c1 := e.startChild("r1", map[string]string{"FANOUT_TEST_ACK_DELAY": "200ms", "KAFKA_LINGER": "20ms"})
	c1.waitReady(60 * time.Second)
	// kill once commits have started moving, with acks still in flight
	waitFor(t, 60*time.Second, "a third of the outputs and a commit", func() bool {
		return e.outputCount() >= n/3 && e.committed(0)+e.committed(1)+e.committed(2)+e.committed(3) > 0
	})
	c1.kill()
	killedAt := e.outputCount()

	c2 := e.startChild("r1", nil)
	c2.waitReady(60 * time.Second)
	outs := e.consumeAll(n, 90*time.Second)
	repeats := checkOutputs(t, orig, outs)
	t.Logf("killed after %d outputs; %d outputs in all, %d re-emits of uncommitted events, 0 lost", killedAt, len(outs), repeats)
}

// TestBrokerTwoReplicasFailover: two replicas share the partitions; one is
// killed, the other takes over all of them; zero loss, no duplicate.
func TestBrokerTwoReplicasFailover(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 4)
	const half, d = 500, 100
	a := e.startChild("a", nil)
	b := e.startChild("b", nil)
	waitFor(t, 90*time.Second, "both replicas ready with partitions", func() bool {
		pa, pb := a.metric("fanout_partitions_assigned", ""), b.metric("fanout_partitions_assigned", "")
		ca, _ := a.get("/readyz")
		cb, _ := b.get("/readyz")
		return pa > 0 && pb > 0 && pa+pb == 4 && ca == 200 && cb == 200
	})
	t.Logf("partitions: a=%v b=%v", a.metric("fanout_partitions_assigned", ""), b.metric("fanout_partitions_assigned", ""))

	first := e.produce(events(0, half))
	waitFor(t, 60*time.Second, "first half emitted", func() bool { return e.outputCount() >= half })
	a.kill()
	second := e.produce(events(half, half))
	all := append(first, second...)
	e.produce(dupsOf(all, d))

	waitFor(t, 90*time.Second, "b takes over every partition", func() bool {
		return b.metric("fanout_partitions_assigned", "") == 4
	})
	outs := e.consumeAll(2*half, 90*time.Second)
	repeats := checkOutputs(t, all, outs)
	t.Logf("%d outputs for %d events (%d re-emits after the kill)", len(outs), 2*half, repeats)
}

// TestBrokerHotStandby: with HOT_STANDBY every replica keeps every
// partition's table warm, so a failover needs no recovery.
func TestBrokerHotStandby(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 4)
	hot := map[string]string{"HOT_STANDBY": "true"}
	a := e.start("a", hot, Options{})
	b := e.start("b", hot, Options{})
	waitFor(t, 90*time.Second, "both replicas ready with partitions", func() bool {
		pa, pb := testutil.ToFloat64(a.r.Metrics().Partitions), testutil.ToFloat64(b.r.Metrics().Partitions)
		return pa > 0 && pb > 0 && pa+pb == 4 && a.r.ProcessorReady() == nil && b.r.ProcessorReady() == nil
	})
	const n = 200
	orig := e.produce(events(0, n))
	checkOutputs(t, orig, e.consumeAll(n, 60*time.Second))
	for name, p := range map[string]*inproc{"a": a, "b": b} {
		if got := p.r.Store().Partitions(); got != 4 {
			t.Errorf("replica %s holds %d table partitions, want all 4", name, got)
		}
		waitFor(t, 30*time.Second, "standby tables caught up", func() bool { return p.r.Store().Entries() == n })
	}
}

// TestBrokerForeignPartitioner: a raw producer that does not hash like goka
// (Java's murmur2, say) puts ids on other partitions than goka's producer
// would put their table writes. The fanout sends each table write to the
// raw partition it came from, so after a restart (memory storage: rebuilt
// from the changelog) the entries are found and duplicates still dropped.
func TestBrokerForeignPartitioner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 4)
	const n = 40
	orig := events(0, n)
	// produce every event to the partition after the one goka would pick
	pm := make([]*sarama.ProducerMessage, n)
	for i, m := range orig {
		pm[i] = &sarama.ProducerMessage{Topic: e.raw, Key: sarama.StringEncoder(m.key), Value: sarama.ByteEncoder(m.value),
			Partition: (gokaPartition(m.key, 4) + 1) % 4}
	}
	sc := producerConfig(t)
	sc.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(e.brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	send := func() {
		if err := p.SendMessages(pm); err != nil {
			t.Fatal(err)
		}
	}
	send()
	for i := range orig {
		orig[i].partition, orig[i].offset = pm[i].Partition, pm[i].Offset
	}

	r1 := e.start("r1", nil, Options{})
	r1.waitReady(60 * time.Second)
	checkOutputs(t, orig, e.consumeAll(n, 60*time.Second))
	if got := testutil.ToFloat64(r1.r.Metrics().Mismatch); got != n {
		t.Errorf("fanout_raw_partition_mismatch_total %v, want %d", got, n)
	}
	table := kafkatest.ConsumeAll(t, e.brokers, e.group+"-table", n, 30*time.Second)
	want := map[string]int32{}
	for _, m := range orig {
		want[m.key] = m.partition
	}
	for _, m := range table {
		if m.Partition != want[string(m.Key)] {
			t.Fatalf("table write for %s on partition %d, want the raw partition %d", m.Key, m.Partition, want[string(m.Key)])
		}
	}
	if err := r1.stop(); err != nil {
		t.Fatal(err)
	}

	for i := range pm { // the same events again: duplicates
		pm[i].Offset = 0
	}
	send()
	p.Close()
	r2 := e.start("r1", nil, Options{})
	r2.waitReady(60 * time.Second)
	waitFor(t, 30*time.Second, "duplicates dropped after the table was rebuilt", func() bool {
		return testutil.ToFloat64(r2.r.Metrics().Duplicates) == n
	})
	if outs := e.consumeAll(n, 10*time.Second); len(outs) != n {
		t.Fatalf("%d outputs, want %d", len(outs), n)
	}
}
