// Command fanout is the goka processor group that consumes the raw Tetragon
// topic, drops duplicates, normalizes to JSON schema v1, samples and routes
// to output topics. Configuration: environment variables, see
// `fanout --help`. `fanout dlq-redrive --help` re-produces DLQ messages.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/fanoutcfg"
	"github.com/tetragon-fanout/tetragon-fanout/fanout/processor"
	"github.com/tetragon-fanout/tetragon-fanout/shared/buildinfo"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/telemetry"
)

const summary = "raw Tetragon topic -> dedup (goka table) -> normalized JSON -> sampled, routed output topics.\n" +
	"Subcommand: 'fanout dlq-redrive --help' re-produces retryable DLQ messages to RAW_TOPIC"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "dlq-redrive" {
		os.Exit(runRedrive(os.Args[2:]))
	}
	var cfg fanoutcfg.Config
	envconfig.Load("fanout", summary, buildinfo.Version, os.Args[1:], &cfg)
	if err := run(&cfg); err != nil {
		var fe *envconfig.FieldError
		if errors.As(err, &fe) {
			envconfig.Fail("fanout", err)
		}
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

func run(cfg *fanoutcfg.Config) error {
	log := telemetry.NewLogger(os.Stderr, cfg.Log, "fanout")
	log.Info("starting", "version", buildinfo.Version, "config", envconfig.Redacted(cfg), "routes", cfg.Routes().Rules())
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	reg := telemetry.NewRegistry()
	r, err := processor.New(cfg, reg, log, testBuildOptions(log))
	if err != nil {
		return err
	}
	srv := telemetry.NewServer(reg, log)
	srv.Ready("raw_topic", r.RawTopicReady)
	srv.Ready("processor", r.ProcessorReady)
	srv.Live("processor", r.Live)
	r.Handlers(srv.Handle)
	if cfg.DebugPprof {
		// Index also serves the named profiles (heap, allocs, goroutine).
		srv.Handle("/debug/pprof/", http.HandlerFunc(pprof.Index))
		srv.Handle("/debug/pprof/profile", http.HandlerFunc(pprof.Profile))
		srv.Handle("/debug/pprof/symbol", http.HandlerFunc(pprof.Symbol))
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %s: %w", cfg.HTTP.Addr, err)
	}
	httpCtx, stopHTTP := context.WithCancel(context.Background())
	defer stopHTTP()
	go func() {
		if err := srv.Serve(httpCtx, ln); err != nil {
			log.Error("telemetry server", "err", err)
		}
	}()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// The runner bounds every step of its shutdown by SHUTDOWN_TIMEOUT;
	// this is the last resort should one step escape it: the process must
	// not outlive its grace period without saying why.
	context.AfterFunc(ctx, func() {
		time.AfterFunc(cfg.ShutdownTimeout+shutdownSlack, func() {
			log.Error("shutdown did not finish within SHUTDOWN_TIMEOUT; exiting", "timeout", cfg.ShutdownTimeout)
			os.Exit(1)
		})
	})
	err = r.Run(ctx)
	if err != nil {
		log.Error("stopped", "err", err)
	} else {
		log.Info("stopped")
	}
	return err
}

// shutdownSlack is how long past SHUTDOWN_TIMEOUT the last-resort exit
// waits: room for the runner's own bounded steps to return and log.
const shutdownSlack = 3 * time.Second
