package processor

import (
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/dedup"
)

// Graph is the fanout's goka group at a glance:
//
//   - input: the raw topic, bytes as the ingester wrote them, into cb;
//   - table: <group>-table, the dedup entries (dedup.Codec), co-partitioned
//     with the raw topic;
//   - outputs: none declared to goka. Output topics are known only at run
//     time (per-namespace templates) and goka's Emit panics for undeclared
//     topics, so every output, static or not, and the DLQ go through the
//     Pipeline's own producer, each tied to the input's commit with
//     ctx.DeferCommit().
func Graph(group, rawTopic string, cb goka.ProcessCallback) *goka.GroupGraph {
	return goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(rawTopic), new(codec.Bytes), cb),
		goka.Persist(dedup.Codec{}),
	)
}
