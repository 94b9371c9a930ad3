package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/internal/promtext"
)

const (
	rateWindow    = 5 * time.Second
	latencyWindow = 10 * time.Second
)

// render draws one frame from the latest snapshot and the history.
func render(cfg config, h *history, cur snapshot) string {
	var b strings.Builder
	old, haveOld := h.ago(rateWindow)
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	p("tetragon-fanout demo · up %s · %s · refreshed every %s · Ctrl-C stops everything",
		cur.at.Sub(h.start).Round(time.Second), cur.at.Format("15:04:05"), cfg.interval)
	if cfg.title != "" {
		p("  %s", cfg.title)
	}
	p("  \"total\" counts since each component started; \"/s\" is the average of the last %s.", rateWindow)

	// rate of a counter read by get from a snapshot; NaN when unknown or
	// when a component restarted in the window (its counters reset).
	rate := func(get func(snapshot) (float64, bool)) float64 {
		if !haveOld {
			return math.NaN()
		}
		v1, ok1 := get(cur)
		v0, ok0 := get(old)
		dt := cur.at.Sub(old.at).Seconds()
		if !ok1 || !ok0 || dt <= 0 || v1 < v0 {
			return math.NaN()
		}
		return (v1 - v0) / dt
	}
	one := func(pick func(snapshot) scrape, name string, labels ...string) func(snapshot) (float64, bool) {
		return func(s snapshot) (float64, bool) {
			sc := pick(s)
			return sc.m.Sum(name, labels...), sc.up
		}
	}
	simOf := func(s snapshot) scrape { return s.sim }
	ingOf := func(s snapshot) scrape { return s.ingester }
	// fan sums a fanout metric over the replicas that answered; unknown if
	// the set of answering replicas changed (a sum over different members
	// is not a rate).
	fan := func(name string, labels ...string) func(snapshot) (float64, bool) {
		return func(s snapshot) (float64, bool) {
			var v float64
			for _, f := range s.fanouts {
				if f.up {
					v += f.m.Sum(name, labels...)
				}
			}
			return v, membership(s) == membership(cur)
		}
	}
	row := func(stage, what string, get func(snapshot) (float64, bool), isGauge bool, meaning string) {
		v, ok := get(cur)
		total, per := "-", "-"
		if ok {
			total = count(v)
			if !isGauge {
				per = count(rate(get))
			}
		}
		p(" %-12s %-18s %11s %7s  %s", stage, what, total, per, meaning)
	}

	p("")
	p(" %-31s %11s %7s  %s", "EVENTS THROUGH THE STAGES", "total", "/s", "what the number means")
	simState := state(cur.sim, true)
	row("tetragon-sim", "sent", one(simOf, "tetragon_sim_events_sent_total", "duplicate", "false"), false,
		"distinct events the simulated Tetragon sent"+simState)
	row("", "duplicates sent", one(simOf, "tetragon_sim_events_sent_total", "duplicate", "true"), false,
		"extra copies of sent events (the fanout must drop them)")
	row("", "dropped", one(simOf, "tetragon_sim_events_dropped_total"), false,
		"not sent: the client read too slowly (Tetragon drops too)")
	row("ingester", "received", one(ingOf, "ingester_events_received_total"), false,
		"events read from the Tetragon gRPC stream"+state(cur.ingester, false))
	row("", "published", one(ingOf, "ingester_events_published_total"), false,
		"events acked by Kafka on "+cfg.rawTopic+" (key = event id)")
	row("", "dropped", one(ingOf, "ingester_events_dropped_total"), false,
		"received but never written to Kafka"+reasons(cur.ingester.m, "ingester_events_dropped_total"))
	row("", "queue", one(ingOf, "ingester_queue_depth"), true,
		"events waiting for Kafka right now")
	stage := fmt.Sprintf("fanout x%d", upCount(cur))
	row(stage, "consumed", fan("fanout_events_consumed_total"), false,
		"raw messages read from "+cfg.rawTopic+", all replicas")
	row("", "duplicates dropped", fan("fanout_duplicates_dropped_total"), false,
		"id seen before at another raw offset: not re-emitted")
	row("", "sampled out", fan("fanout_events_sampled_out_total"), false,
		"not kept by a sample rule (chosen by event id)")
	row("", "dropped by rule", fan("fanout_events_dropped_total"), false,
		"discarded by a drop rule"+fanReasons(cur, "fanout_events_dropped_total"))
	row("", "to the DLQ", fan("fanout_events_dlq_total"), false,
		"unprocessable, kept in "+cfg.dlqTopic+" with a reason"+fanReasons(cur, "fanout_events_dlq_total"))
	row("", "emitted", fan("fanout_events_emitted_total"), false,
		"JSON events acked by their output topic")
	row("", "in flight", fan("fanout_inflight_messages"), true,
		"read, outputs not yet acked (hold the commit back)")

	renderTopics(p, cfg, cur, old, haveOld)
	renderReplicas(p, cfg, cur)
	renderLag(p, cfg, cur)
	renderLatency(p, h, cur)
	return b.String()
}

func renderTopics(p func(string, ...any), cfg config, cur, old snapshot, haveOld bool) {
	p("")
	if cur.kafka.err != "" {
		p("KAFKA TOPICS   Kafka %s: %s", cfg.brokers, cur.kafka.err)
		return
	}
	p("KAFKA TOPICS   messages written (sum of the partitions' high-water marks) and per second, read from Kafka")
	sum := func(s snapshot, topic string) (float64, bool) {
		ps, ok := s.kafka.hwm[topic]
		if !ok {
			return 0, false
		}
		var v int64
		for _, o := range ps {
			v += o
		}
		return float64(v), true
	}
	cell := func(topic string) (string, string) {
		v, ok := sum(cur, topic)
		if !ok {
			return "-", "-"
		}
		per := "-"
		if v0, ok0 := sum(old, topic); haveOld && ok0 && v >= v0 {
			per = count((v - v0) / cur.at.Sub(old.at).Seconds())
		}
		return count(v), per
	}
	table := cfg.group + "-table"
	special := []struct{ topic, meaning string }{
		{cfg.rawTopic, fmt.Sprintf("raw Tetragon protobuf from the ingester (%d partitions)", len(cur.kafka.hwm[cfg.rawTopic]))},
		{cfg.dlqTopic, "raw messages the fanout could not process, with tf-error-reason"},
		{table, "dedup table changelog: one entry per new event id"},
	}
	for _, s := range special {
		n, per := cell(s.topic)
		p("  %-38s %11s %7s   %s", s.topic, n, per, s.meaning)
	}
	var outs []string
	for t := range cur.kafka.hwm {
		if t != cfg.rawTopic && t != cfg.dlqTopic && t != table && strings.HasPrefix(t, cfg.topicPrefix) {
			outs = append(outs, t)
		}
	}
	sort.Strings(outs)
	p("  output topics %s* (normalized JSON, one message per event):", cfg.topicPrefix)
	if len(outs) == 0 {
		p("    none yet")
	}
	half := (len(outs) + 1) / 2
	for i := 0; i < half; i++ {
		n, per := cell(outs[i])
		line := fmt.Sprintf("    %-36s %9s %6s", outs[i], n, per)
		if j := i + half; j < len(outs) {
			n, per := cell(outs[j])
			line += fmt.Sprintf("    %-36s %9s %6s", outs[j], n, per)
		}
		p("%s", line)
	}
}

func renderReplicas(p func(string, ...any), cfg config, cur snapshot) {
	p("")
	p("FANOUT REPLICAS   table recovery = time to rebuild a partition's dedup table from its changelog when the")
	p("                  replica is given the partition (fanout_table_recovery_seconds); events wait meanwhile")
	p("  %-10s %-10s %-21s %13s  %-40s %s", "replica", "state", "raw partitions owned", "table entries", "table recovery", "restarts")
	for i, e := range cfg.fanouts {
		s := cur.fanouts[i]
		if !s.up {
			p("  %-10s %s", e.name, s.err)
			continue
		}
		st := "ready"
		if !s.ready {
			st = "not ready"
		}
		rec := s.m.Histogram("fanout_table_recovery_seconds")
		recovery := "none yet"
		if rec.Count > 0 {
			recovery = fmt.Sprintf("%s partitions, avg %s, each <= %s", count(rec.Count), seconds(rec.Sum/rec.Count), bound(rec))
		}
		p("  %-10s %-10s %-21s %13s  %-40s %s", e.name, st, partitionList(owned(s)),
			count(s.m.Sum("fanout_table_entries")), recovery, count(s.m.Sum("fanout_processor_restarts_total")))
		if !s.ready && s.notReady != "" {
			p("             not ready: %s", s.notReady)
		}
	}
}

func renderLag(p func(string, ...any), cfg config, cur snapshot) {
	p("")
	p("CONSUMER LAG PER RAW PARTITION   messages behind, as \"lag / uncommitted\": lag = not yet processed by the")
	p("  replica owning it (fanout_consumer_lag); uncommitted = high-water mark minus the group's committed offset")
	p("  in Kafka (commits follow every second, so a few hundred is normal under load)")
	owner := map[int32]string{}
	lag := map[int32]float64{}
	for i, e := range cfg.fanouts {
		s := cur.fanouts[i]
		if !s.up {
			continue
		}
		for part, v := range s.m.By("fanout_consumer_lag", "partition") {
			n, err := strconv.Atoi(part)
			if err != nil {
				continue
			}
			owner[int32(n)] = e.name
			lag[int32(n)] = v
		}
	}
	raw := cur.kafka.hwm[cfg.rawTopic]
	parts := make([]int32, 0, len(raw))
	for pt := range raw {
		parts = append(parts, pt)
	}
	if len(parts) == 0 {
		for pt := range owner {
			parts = append(parts, pt)
		}
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
	if len(parts) == 0 {
		p("  no raw partitions yet")
		return
	}
	var cells []string
	for _, pt := range parts {
		who, l := "unowned", "-"
		if o, ok := owner[pt]; ok {
			who, l = o, count(lag[pt])
		}
		unc := "-"
		if c, ok := cur.kafka.committed[pt]; ok {
			if c < 0 {
				unc = count(float64(raw[pt])) // nothing committed yet
			} else {
				unc = count(float64(raw[pt] - c))
			}
		}
		cells = append(cells, fmt.Sprintf("p%-2d %-9s %7s / %-7s", pt, who, l, unc))
	}
	for i := 0; i < len(cells); i += 3 {
		p("  %s", strings.Join(cells[i:min(i+3, len(cells))], "   "))
	}
}

func renderLatency(p func(string, ...any), h *history, cur snapshot) {
	p("")
	p("LATENCY   estimated from histograms (accurate to a bucket); \"-\" until there are events")
	hist := func(s snapshot, name string, fanouts bool) promtext.Histogram {
		if !fanouts {
			return s.ingester.m.Histogram(name)
		}
		var out promtext.Histogram
		for _, f := range s.fanouts {
			if f.up {
				out = out.Add(f.m.Histogram(name))
			}
		}
		return out
	}
	old, ok := h.ago(latencyWindow)
	line := func(label, name string, fanouts bool) {
		all := hist(cur, name, fanouts)
		recent := all
		if ok && membership(old) == membership(cur) {
			recent = all.Sub(hist(old, name, fanouts))
		}
		p("  %-46s last %s: p50 %-9s p99 %-9s  since start: p50 %-9s p99 %s", label, latencyWindow,
			quantile(recent, 0.5), quantile(recent, 0.99), quantile(all, 0.5), quantile(all, 0.99))
	}
	line("end to end: ingester received -> output acked", "fanout_end_to_end_latency_seconds", true)
	line("ingester publish: received -> acked by Kafka", "ingester_publish_latency_seconds", false)
}

// --- helpers --------------------------------------------------------------------

// membership identifies which replicas answered, so sums are compared only
// between snapshots of the same members.
func membership(s snapshot) string {
	var b strings.Builder
	for _, f := range s.fanouts {
		if f.up {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}

func upCount(s snapshot) int {
	n := 0
	for _, f := range s.fanouts {
		if f.up {
			n++
		}
	}
	return n
}

func state(s scrape, optionalReady bool) string {
	switch {
	case !s.up:
		return " [" + s.err + "]"
	case !s.ready && !optionalReady:
		return " [not ready: " + s.notReady + "]"
	}
	return ""
}

// reasons lists the non-zero series of a counter by reason.
func reasons(m promtext.Set, name string) string {
	by := m.By(name, "reason")
	var parts []string
	for r, v := range by {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", r, count(v)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}

func fanReasons(s snapshot, name string) string {
	var all promtext.Set
	for _, f := range s.fanouts {
		if f.up {
			all = append(all, f.m...)
		}
	}
	return reasons(all, name)
}

func owned(s scrape) []int {
	var out []int
	for part := range s.m.By("fanout_consumer_lag", "partition") {
		if n, err := strconv.Atoi(part); err == nil {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out
}

// partitionList shows 0,1,2,3,7 as "0-3 7".
func partitionList(ps []int) string {
	if len(ps) == 0 {
		return "none"
	}
	var parts []string
	for i := 0; i < len(ps); {
		j := i
		for j+1 < len(ps) && ps[j+1] == ps[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", ps[i], ps[j]))
		} else {
			parts = append(parts, strconv.Itoa(ps[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, " ")
}

// count formats a number with thousands separators ("-" when unknown).
func count(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	n := int64(math.Round(v))
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// quantile shows a histogram quantile; one beyond the last finite bucket
// is shown as "> bound".
func quantile(h promtext.Histogram, q float64) string {
	v := h.Quantile(q)
	if math.IsInf(v, 1) {
		return "> " + seconds(h.MaxFinite())
	}
	return seconds(v)
}

// bound shows "every observation took at most this".
func bound(h promtext.Histogram) string {
	v := h.UpperBound()
	if math.IsInf(v, 1) {
		return "> " + seconds(h.MaxFinite())
	}
	return seconds(v)
}

// seconds formats a duration in seconds with a unit and sensible digits.
func seconds(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v < 0.001:
		return fmt.Sprintf("%.2f ms", v*1000)
	case v < 1:
		return fmt.Sprintf("%.0f ms", v*1000)
	case v < 100:
		return fmt.Sprintf("%.1f s", v)
	}
	return fmt.Sprintf("%.0f s", v)
}
