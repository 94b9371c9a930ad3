// Command fanout is the goka processor group that consumes the raw Tetragon
// topic, drops duplicates, normalizes to JSON schema v1, samples and routes
// to output topics. Configuration: environment variables, see
// `fanout --help`. `fanout dlq-redrive --help` re-produces DLQ messages.
package main

import (
	"os"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/fanoutcfg"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/processor"
	"github.com/tetragon-fanout/tetragon-fanout/shared/app"
)

const summary = "raw Tetragon topic -> dedup (goka table) -> normalized JSON -> sampled, routed output topics.\n" +
	"Subcommand: 'fanout dlq-redrive --help' re-produces retryable DLQ messages to RAW_TOPIC"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "dlq-redrive" {
		os.Exit(runRedrive(os.Args[2:]))
	}
	var cfg fanoutcfg.Config
	app.Main(app.Binary{
		Name: "fanout", Summary: summary, Config: &cfg,
		StartAttrs: func() []any { return []any{"routes", cfg.Routes().Rules()} },
		Build: func(e *app.Env) (app.Runner, error) {
			r, err := processor.New(&cfg, e.Registry, e.Log, testBuildOptions(e.Log))
			if err != nil {
				return nil, err
			}
			e.Server.Ready("raw_topic", r.RawTopicReady)
			e.Server.Ready("processor", r.ProcessorReady)
			e.Server.Live("processor", r.Live)
			r.Handlers(e.Server.Handle)
			return r, nil
		},
		// The runner bounds every step of its shutdown by SHUTDOWN_TIMEOUT.
		ExitAfter: func() time.Duration { return cfg.ShutdownTimeout + shutdownSlack },
	})
}

// shutdownSlack is how long past SHUTDOWN_TIMEOUT the last-resort exit
// waits: room for the runner's own bounded steps to return and log.
const shutdownSlack = 3 * time.Second
