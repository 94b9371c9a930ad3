// Package app is the one start-up of the product binaries (ingester,
// fanout): settings from the environment (--help, version, exit code 2 on a
// bad value) -> logger -> metrics registry -> HTTP server (/metrics,
// /healthz, /readyz, /debug/pprof with DEBUG_PPROF) -> a context that ends
// on SIGTERM or interrupt -> the component's Run. A main is its wiring.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tetragon-fanout/tetragon-fanout/shared/buildinfo"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
	"github.com/tetragon-fanout/tetragon-fanout/shared/telemetry"
)

// Common are the settings every product binary has. Embed it last in a
// binary's Config (its variables then close --help) and call
// ValidateCommon first in its Validate.
type Common struct {
	Kafka    kafkaclient.Config
	Producer kafkaclient.ProducerConfig
	Log      telemetry.LogConfig
	HTTP     telemetry.HTTPConfig
}

// ValidateCommon checks the shared settings; level is the binary's
// KAFKA_COMPRESSION_LEVEL.
func (c *Common) ValidateCommon(level int) error {
	return errors.Join(c.Kafka.Validate(), c.Log.Validate(), c.Producer.Validate(level), c.HTTP.Validate())
}

// Settings is what Main needs of a binary's Config (a pointer to a struct
// that embeds Common).
type Settings interface {
	envconfig.Validator
	Shared() *Common
	// Warnings are settings that work but weaken security or reliability;
	// each is logged at start.
	Warnings() []string
}

// Shared returns c (Settings' accessor, promoted to the embedding Config).
func (c *Common) Shared() *Common { return c }

// Env is what a component is built with.
type Env struct {
	Log      *slog.Logger
	Registry *prometheus.Registry
	// Server is the telemetry server: register readiness and liveness
	// checks and extra handlers on it.
	Server *telemetry.Server
}

// Runner is a built component: Run until ctx ends.
type Runner interface {
	Run(ctx context.Context) error
}

// Binary describes one binary.
type Binary struct {
	Name    string // program name: log component, messages
	Summary string // first line of --help
	Config  Settings
	// StartAttrs are extra attributes of the "starting" log record
	// (after the settings are valid).
	StartAttrs func() []any
	// Build makes the component once the settings are valid.
	Build func(*Env) (Runner, error)
	// ExitAfter, if set and > 0, is the last resort of shutdown: this long
	// after the signal the process exits 1 (logged), should a step of the
	// component's own bounded shutdown escape it. It must not outlive its
	// grace period without saying why.
	ExitAfter func() time.Duration
}

// Main runs b and exits: 0 after a clean stop, 2 for a bad setting (also one
// found while building, an envconfig.FieldError), 1 for any other error.
func Main(b Binary) {
	envconfig.Load(b.Name, b.Summary, buildinfo.Version, os.Args[1:], b.Config)
	if err := run(b); err != nil {
		var fe *envconfig.FieldError
		if errors.As(err, &fe) {
			envconfig.Fail(b.Name, err)
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", b.Name, err)
		os.Exit(1)
	}
}

func run(b Binary) error {
	c := b.Config.Shared()
	log := telemetry.NewLogger(os.Stderr, c.Log, b.Name)
	attrs := []any{"version", buildinfo.Version, "config", envconfig.Redacted(b.Config)}
	if b.StartAttrs != nil {
		attrs = append(attrs, b.StartAttrs()...)
	}
	log.Info("starting", attrs...)
	for _, w := range b.Config.Warnings() {
		log.Warn(w)
	}
	reg := telemetry.NewRegistry()
	srv := telemetry.NewServer(reg, log)
	r, err := b.Build(&Env{Log: log, Registry: reg, Server: srv})
	if err != nil {
		return err
	}
	if c.HTTP.Pprof {
		// Index also serves the named profiles (heap, allocs, goroutine).
		srv.Handle("/debug/pprof/", http.HandlerFunc(pprof.Index))
		srv.Handle("/debug/pprof/profile", http.HandlerFunc(pprof.Profile))
		srv.Handle("/debug/pprof/symbol", http.HandlerFunc(pprof.Symbol))
	}
	ln, err := net.Listen("tcp", c.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %s: %w", c.HTTP.Addr, err)
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
	if b.ExitAfter != nil {
		if d := b.ExitAfter(); d > 0 {
			context.AfterFunc(ctx, func() {
				time.AfterFunc(d, func() {
					log.Error("shutdown did not finish in time; exiting", "after", d.String())
					os.Exit(1)
				})
			})
		}
	}
	err = r.Run(ctx)
	if err != nil {
		log.Error("stopped", "err", err)
	} else {
		log.Info("stopped")
	}
	return err
}
