package main

import (
	"fmt"
	"math"
)

// CostInputs are the measured per-event figures the cost model scales.
type CostInputs struct {
	// IngesterUs: ingester CPU µs/event at the lowest fixed rate measured
	// (closest to one node's rate: small batches cost more per event).
	IngesterUs   float64
	IngesterRate int
	// FanoutUs: fanout CPU µs/event over the pre-filled topic (memory and
	// LevelDB tables).
	FanoutUs, FanoutLevelDBUs float64
	// BrokerUs: broker CPU µs/event for the raw write (a) plus the fanout's
	// read, outputs and changelog (b).
	BrokerUs float64
	// Bytes on disk per event (compressed, before replication).
	RawDisk, OutputDisk, ChangelogDisk float64
	// Table bytes per entry: memory (in-process) and LevelDB files.
	MemPerEntry, LevelDBPerEntry float64
	// Recovery speed, entries/s, of one partition (memory, LevelDB cold).
	RecoverMem, RecoverLevelDB float64
}

func costInputs(s *Results) (*CostInputs, bool) {
	c := &CostInputs{}
	// A node's rate with the default settings, from (f) when it ran: the
	// figure the examples' per-node rates need.
	for _, r := range s.Node {
		if r.Setting == nodeSettings[0].name && r.Rate == 1000 && r.CPUUsPerEvent > 0 {
			c.IngesterUs, c.IngesterRate = r.CPUUsPerEvent, r.Rate
		}
	}
	for _, e := range s.E2E {
		if c.IngesterRate == 1000 {
			break
		}
		if e.Linger == "5ms" && e.IngesterUsPerEvent > 0 && (c.IngesterRate == 0 || e.Rate < c.IngesterRate) {
			c.IngesterUs, c.IngesterRate = e.IngesterUsPerEvent, e.Rate
		}
	}
	if c.IngesterRate == 0 && s.Ingest != nil {
		c.IngesterUs = s.Ingest.CPUUsPerEvent
	}
	if f := fanoutByName(s, "f1"); f != nil {
		c.FanoutUs = f.CPUUsPerEvent
		c.BrokerUs = f.BrokerUsPerEvent
	}
	if f := fanoutByName(s, "fl"); f != nil {
		c.FanoutLevelDBUs = f.CPUUsPerEvent
	}
	if s.Ingest != nil {
		c.BrokerUs += s.Ingest.BrokerUsPerEvent
	}
	if b := s.Bytes; b != nil {
		c.RawDisk, c.OutputDisk, c.ChangelogDisk = b.RawDiskPerEvent, b.OutputDiskPerEvent, b.ChangelogDiskPerEntry
	}
	c.MemPerEntry = s.TableMemBytesPerEntry
	for _, r := range s.Recovery {
		switch {
		case r.Storage == "memory":
			c.RecoverMem = r.EntriesPerSec
		case r.LevelDBBytes > 0 && c.RecoverLevelDB == 0:
			c.RecoverLevelDB = r.EntriesPerSec
			c.LevelDBPerEntry = float64(r.LevelDBBytes) / float64(r.Entries)
		}
	}
	ok := c.IngesterUs > 0 && c.FanoutUs > 0 && c.RawDisk > 0 && c.MemPerEntry > 0
	return c, ok
}

// Example is one worked example of the cost model.
type Example struct {
	Nodes, PerNode float64
	Window         float64 // seconds
}

// costSection renders the model's inputs and worked examples, so every
// run of make bench re-derives them from its own figures.
func costSection(b *w, s *Results) {
	c, ok := costInputs(s)
	if !ok {
		return
	}
	const (
		replication = 3    // production replication factor
		utilization = 0.6  // target CPU use of a fanout replica's core
		dupShare    = 0.01 // duplicates are not table entries
	)
	b.p("## Cost model: inputs and worked examples")
	b.p("")
	b.p("Derived from this run's figures (docs/cost-model.md explains the model). Inputs: ingester %s µs/event",
		num(c.IngesterUs, 1))
	if c.IngesterRate > 0 {
		b.p("(at %s events/s), fanout %s µs/event (memory table; LevelDB %s), broker %s µs/event (raw write + fanout",
			num(float64(c.IngesterRate), 0), num(c.FanoutUs, 1), num(c.FanoutLevelDBUs, 1), num(c.BrokerUs, 1))
	} else {
		b.p("(at its maximum rate), fanout %s µs/event (memory table; LevelDB %s), broker %s µs/event (raw write + fanout",
			num(c.FanoutUs, 1), num(c.FanoutLevelDBUs, 1), num(c.BrokerUs, 1))
	}
	b.p("read/write), on disk per event: raw %s B, outputs %s B, changelog %s B; table %s B/entry in memory, %s B/entry",
		num(c.RawDisk, 0), num(c.OutputDisk, 0), num(c.ChangelogDisk, 0), num(c.MemPerEntry, 0), num(c.LevelDBPerEntry, 0))
	b.p("in LevelDB; recovery %s entries/s (memory), %s (LevelDB). Assumed: replication %d, a replica per core at %d%% use,",
		num(c.RecoverMem, 0), num(c.RecoverLevelDB, 0), replication, int(utilization*100))
	b.p("every event emitted once (no sampling), %d%% duplicates.", int(dupShare*100))
	b.p("")
	b.p("| nodes x events/s | window | total events/s | ingester cores/node | fanout cores | replicas | raw partitions | table entries | table memory (total) | LevelDB disk | recovery of a partition (mem / LevelDB) | Kafka writes MB/s (raw + changelog + outputs) x RF | broker cores |")
	b.p("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, e := range []Example{{100, 1000, 600}, {1000, 500, 600}, {1000, 500, 60}} {
		rate := e.Nodes * e.PerNode
		fanCores := rate * c.FanoutUs / 1e6
		replicas := math.Max(1, math.Ceil(fanCores/utilization))
		parts := 12.0
		for parts < 2*replicas {
			parts *= 2
		}
		entries := rate * (1 - dupShare) * e.Window
		perPart := entries / parts
		rec := func(speed float64) string {
			if speed <= 0 {
				return "n/a"
			}
			return num(perPart/speed, 0) + " s"
		}
		writes := rate*c.RawDisk + rate*(1-dupShare)*(c.ChangelogDisk+c.OutputDisk)
		b.p("| %s x %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s x %d = %s | %s |",
			num(e.Nodes, 0), num(e.PerNode, 0), fmtWindow(e.Window), num(rate, 0), num(e.PerNode*c.IngesterUs/1e6, 3),
			num(fanCores, 1), num(replicas, 0), num(parts, 0), num(entries/1e6, 0)+"M",
			gib(entries*c.MemPerEntry), gib(entries*c.LevelDBPerEntry), rec(c.RecoverMem), rec(c.RecoverLevelDB),
			num(writes/1e6, 1), replication, num(writes*replication/1e6, 1), num(rate*c.BrokerUs/1e6, 1))
	}
	b.p("")
}

func fmtWindow(sec float64) string {
	if sec >= 60 {
		return fmt.Sprintf("%gm", sec/60)
	}
	return fmt.Sprintf("%gs", sec)
}

func gib(b float64) string { return num(b/(1<<30), 1) + " GiB" }
