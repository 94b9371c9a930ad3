package route

import (
	"fmt"
	"testing"
)

// benchEvents is a mix over the example rules: most events fall through to
// the default (the common case), some hit a namespace template, some are
// sampled.
func benchEvents() ([]string, []Event) {
	labels := map[string]string{"app": "web", "pod-template-hash": "7d9f", "team": "shop"}
	evs := []Event{
		{Type: "process_exec", Namespace: "shop", Pod: "web-1", Node: "node-1", Labels: labels, Binary: "/usr/bin/python3"},
		{Type: "process_kprobe", Namespace: "kube-system", Pod: "coredns-1", Node: "node-2", Labels: labels, Policy: "file-monitoring", Binary: "/coredns"},
		{Type: "process_exit", Namespace: "team-a-dev", Pod: "api-0", Node: "node-3", Labels: labels, Binary: "/bin/sh"},
		{Type: "process_exec", Node: "node-1", Binary: "/usr/sbin/sshd"},
		{Type: "process_kprobe", Namespace: "monitoring", Node: "node-2", Labels: labels, Binary: "/usr/bin/curl"},
	}
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = id(i)
	}
	return ids, evs
}

func BenchmarkDecide(b *testing.B) {
	tb, err := Load("../../deployments/local/routes.example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	ids, evs := benchEvents()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tb.Decide(ids[i%len(ids)], &evs[i%len(evs)])
		i++
	}
}

func BenchmarkDecideNoFile(b *testing.B) {
	tb := Default()
	ids, evs := benchEvents()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tb.Decide(ids[i%len(ids)], &evs[i%len(evs)])
		i++
	}
}

// 20 rules that the events do not match, then a namespace template: the
// cost of a long file.
func BenchmarkDecide20Rules(b *testing.B) {
	src := "version: 1\nrules:\n"
	for i := range 20 {
		src += fmt.Sprintf("  - name: r%d\n    match: {namespaces: [\"ns%d-*\"], binaries: [\"/opt/%d/**\"], labels: {app: \"x%d\"}}\n    sample: 0.5\n", i, i, i, i)
	}
	src += "  - name: last\n    topic: \"tetragon.{namespace}.{type}\"\n"
	tb, err := Parse("bench", []byte(src))
	if err != nil {
		b.Fatal(err)
	}
	ids, evs := benchEvents()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tb.Decide(ids[i%len(ids)], &evs[i%len(evs)])
		i++
	}
}

// All partition goroutines share the render caches.
func BenchmarkDecideParallel(b *testing.B) {
	tb, err := Load("../../deployments/local/routes.example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	ids, evs := benchEvents()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			tb.Decide(ids[i%len(ids)], &evs[i%len(evs)])
			i++
		}
	})
}
