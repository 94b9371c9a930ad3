//go:build !faultinject

package main

import (
	"log/slog"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/processor"
)

// testBuildOptions: a release build has no test hooks (see
// testbuild_faultinject.go for the fault suite's build).
func testBuildOptions(*slog.Logger) processor.Options { return processor.Options{} }
