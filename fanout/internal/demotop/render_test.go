package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/internal/promtext"
)

func parse(t *testing.T, text string) promtext.Set {
	t.Helper()
	s, err := promtext.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fanoutMetrics is one replica owning partitions 0-2 after n seconds.
func fanoutMetrics(t *testing.T, consumed, emitted int, lagP0 int) promtext.Set {
	return parse(t, strings.NewReplacer("CONSUMED", itoa(consumed), "EMITTED", itoa(emitted), "LAG0", itoa(lagP0)).Replace(`
fanout_events_consumed_total{type="process_exec"} CONSUMED
fanout_events_emitted_total{topic="tetragon.process_exec"} EMITTED
fanout_duplicates_dropped_total 5
fanout_events_sampled_out_total{type="process_kprobe"} 7
fanout_events_dlq_total{reason="undecodable"} 2
fanout_inflight_messages 3
fanout_partitions_assigned 3
fanout_consumer_lag{partition="0"} LAG0
fanout_consumer_lag{partition="1"} 0
fanout_consumer_lag{partition="2"} 4
fanout_table_entries 1234
fanout_table_recovery_seconds_bucket{le="0.05"} 2
fanout_table_recovery_seconds_bucket{le="0.1"} 3
fanout_table_recovery_seconds_bucket{le="+Inf"} 3
fanout_table_recovery_seconds_sum 0.12
fanout_table_recovery_seconds_count 3
fanout_end_to_end_latency_seconds_bucket{le="0.01"} 0
fanout_end_to_end_latency_seconds_bucket{le="0.1"} EMITTED
fanout_end_to_end_latency_seconds_bucket{le="+Inf"} EMITTED
fanout_end_to_end_latency_seconds_sum 1
fanout_end_to_end_latency_seconds_count EMITTED
`))
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestRender(t *testing.T) {
	cfg := config{brokers: "127.0.0.1:9092", rawTopic: "tetragon.raw", dlqTopic: "tetragon.dlq", group: "tetragon-fanout",
		topicPrefix: "tetragon.", interval: time.Second, title: "sim -> ingester -> fanout",
		fanouts: []endpoint{{name: "fanout-1"}, {name: "fanout-2"}}}
	h := &history{}
	t0 := time.Unix(1000, 0)
	mk := func(at time.Time, consumed, emitted, lag int, simSent int) snapshot {
		return snapshot{
			at:       at,
			sim:      scrape{up: true, ready: true, m: parse(t, `tetragon_sim_events_sent_total{type="process_exec",duplicate="false"} `+itoa(simSent))},
			ingester: scrape{up: true, ready: true, m: parse(t, "ingester_events_received_total{type=\"process_exec\"} 10\ningester_events_dropped_total{reason=\"queue_full_oldest\"} 4\n")},
			fanouts: []scrape{
				{up: true, ready: true, m: fanoutMetrics(t, consumed, emitted, lag)},
				{err: "down (connection refused)"},
			},
			kafka: kafkaState{
				hwm: map[string]map[int32]int64{
					"tetragon.raw":          {0: 100, 1: 50, 2: 60, 3: 10},
					"tetragon.process_exec": {0: int64(emitted)},
					"other.topic":           {0: 99},
				},
				committed: map[int32]int64{0: 90, 1: 50, 2: -1, 3: 10},
			},
		}
	}
	first := mk(t0, 100, 80, 7, 1000)
	h.add(first)
	if out := render(cfg, h, first); !strings.Contains(out, "sent") || !regexp.MustCompile(`sent\s+1,000\s+-\s`).MatchString(out) {
		t.Errorf("first frame must show totals and no rate yet:\n%s", out)
	}
	cur := mk(t0.Add(5*time.Second), 600, 580, 9, 16000)
	h.add(cur)
	out := render(cfg, h, cur)
	t.Log("\n" + out)

	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`tetragon-sim\s+sent\s+16,000\s+3,000\s+distinct events`), // (16000-1000)/5s
		regexp.MustCompile(`consumed\s+600\s+100\s`),                                 // (600-100)/5s
		regexp.MustCompile(`emitted\s+580\s+100\s`),
		regexp.MustCompile(`dropped\s+4\s+0\s+received but never written to Kafka \(queue_full_oldest 4\)`),
		regexp.MustCompile(`to the DLQ\s+2\s+0\s+.*\(undecodable 2\)`),
		regexp.MustCompile(`in flight\s+3\s+-\s`),
		regexp.MustCompile(`fanout x1`),
		regexp.MustCompile(`tetragon\.raw\s+220\s+0\s+raw Tetragon protobuf from the ingester \(4 partitions\)`),
		regexp.MustCompile(`tetragon\.process_exec\s+580\s+100`),
		regexp.MustCompile(`fanout-1\s+ready\s+0-2\s+1,234\s+3 partitions, avg 40 ms, each <= 100 ms\s+0`),
		regexp.MustCompile(`fanout-2\s+down \(connection refused\)`),
		regexp.MustCompile(`p0\s+fanout-1\s+9 / 10 `),
		regexp.MustCompile(`p2\s+fanout-1\s+4 / 60 `), // nothing committed: the whole partition
		regexp.MustCompile(`p3\s+unowned\s+- / 0 `),
		regexp.MustCompile(`end to end: ingester received -> output acked\s+last 10s: p50 \d+ ms`),
		regexp.MustCompile(`ingester publish.*p50 -`),
	} {
		if !want.MatchString(out) {
			t.Errorf("frame lacks %s", want)
		}
	}
	if strings.Contains(out, "other.topic") {
		t.Error("a topic without the prefix is shown")
	}
	for _, line := range strings.Split(out, "\n") {
		if len([]rune(line)) > 130 {
			t.Errorf("line of %d characters: %q", len([]rune(line)), line)
		}
	}
}

func TestFormat(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := count(v); got != want {
			t.Errorf("count(%v) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[float64]string{0.0004: "0.40 ms", 0.031: "31 ms", 2.5: "2.5 s", 300: "300 s"} {
		if got := seconds(v); got != want {
			t.Errorf("seconds(%v) = %q, want %q", v, got, want)
		}
	}
	if got := partitionList([]int{0, 1, 2, 3, 7, 9, 10}); got != "0-3 7 9-10" {
		t.Errorf("partitionList = %q", got)
	}
}
