// Command benchrun is the orchestrator behind `make bench`
// (deployments/local/bench.sh). It is not shipped: bench.sh builds it into
// .local/bench. It lives in the fanout module because it reads the fanout's
// own table format and topic settings (dedup, fanoutcfg) and the shared
// simulator; it drives the real binaries (ingester, fanout, tetragon-sim)
// as separate processes against a real broker and measures them from the
// outside: /proc for CPU and memory, /metrics for counts and latency,
// /debug/pprof for profiles, the broker's log dirs for bytes on disk.
//
//	benchrun system -out DIR -bin BINDIR     scenarios (a)-(e) against KAFKA_BROKERS
//	benchrun micro  -in FILE -out DIR        summarize `go test -bench` output
//	benchrun report -dir DIR                 results.md from both
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "system":
		err = runSystem(os.Args[2:])
	case "micro":
		err = runMicro(os.Args[2:])
	case "report":
		err = runReport(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchrun system|micro|report [flags] (-h for flags)")
	os.Exit(2)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchrun: "+format+"\n", args...)
}
