//go:build faultinject

package main

import (
	"log/slog"
	"os"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/processor"
)

// EnvUnorderedCommits, honoured only by a binary built with the faultinject
// tag (the fault suite builds one for its control run), disables the
// in-order commit wrapper: marks reach sarama as goka makes them, so a
// kill -9 loses events. The suite's control run must find that loss, which
// shows the suite can see it. A release build has no such variable: this
// file is not compiled into it.
const EnvUnorderedCommits = "FANOUT_FAULTINJECT_UNORDERED_COMMITS"

func testBuildOptions(log *slog.Logger) processor.Options {
	var o processor.Options
	if os.Getenv(EnvUnorderedCommits) == "1" {
		o.UnorderedCommits = true
		log.Warn("FAULT-INJECTION BUILD: in-order commits disabled (" + EnvUnorderedCommits + "=1); a crash loses events")
	}
	return o
}
