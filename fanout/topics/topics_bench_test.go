package topics

import (
	"testing"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/route"
)

// The per-event cost once a topic exists: what every emit pays.
func BenchmarkEnsureKnown(b *testing.B) {
	m, err := New(nil, spec, route.DefaultTopic, Options{})
	if err != nil {
		b.Fatal(err)
	}
	m.markKnown("tetragon.team-a.process_exec")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Ensure("tetragon.team-a.process_exec", "tetragon.{namespace}.{type}", 50); err != nil {
				b.Fatal(err)
			}
		}
	})
}
