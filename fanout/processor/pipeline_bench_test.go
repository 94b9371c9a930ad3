package processor

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/dedup"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/route"
	"github.com/tetragon-fanout/tetragon-fanout/shared/headers"
)

// benchCtx is the part of goka.Context the callback uses, without goka.
type gokaContext = goka.Context

type benchCtx struct {
	gokaContext
	key   string
	hdr   goka.Headers
	off   int64
	value any
}

func (c *benchCtx) Key() string                             { return c.key }
func (c *benchCtx) Headers() goka.Headers                   { return c.hdr }
func (c *benchCtx) Partition() int32                        { return 0 }
func (c *benchCtx) Offset() int64                           { return c.off }
func (c *benchCtx) Value() any                              { return c.value }
func (c *benchCtx) SetValue(v any, _ ...goka.ContextOption) { _, _ = dedup.Codec{}.Encode(v) }
func (c *benchCtx) DeferCommit() func(error)                { return func(error) {} }

type nopSink struct{}

func (nopSink) Send(_ *sarama.ProducerMessage, done func(error)) { done(nil) }

func (nopSink) FollowUp(_ *sarama.ProducerMessage, done func(error)) { done(nil) }

// BenchmarkProcess is the fanout's own work per new event (dedup decision,
// table value encoding, decode, route, JSON, headers), without Kafka.
func BenchmarkProcess(b *testing.B) {
	p := &Pipeline{Window: 10 * time.Minute, DLQTopic: "dlq", Router: route.Default(), Topics: &fakeTopics{},
		Sink: nopSink{}, Metrics: NewMetrics(nil), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	key, raw := testEvent(1, "prod")
	ctx := &benchCtx{key: key, hdr: goka.Headers{headers.Type: []byte("process_exec"), headers.Node: []byte("node-1"),
		headers.IngestNS: []byte("1700000000000000000"), headers.Format: []byte(headers.FormatRaw)}}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		ctx.off++
		p.Process(ctx, raw)
	}
}
