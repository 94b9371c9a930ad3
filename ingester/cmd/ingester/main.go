// Command ingester reads the local Tetragon agent's event stream and writes
// each event's protobuf bytes unchanged to the raw Kafka topic, keyed by
// its event id. Configuration: environment variables, see `ingester --help`.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/config"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/pipeline"
	"github.com/tetragon-fanout/tetragon-fanout/shared/buildinfo"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/telemetry"
)

func main() {
	var cfg config.Config
	envconfig.Load("ingester", "Tetragon GetEvents stream -> raw Kafka topic (protobuf, key = event id)",
		buildinfo.Version, os.Args[1:], &cfg)
	if err := run(&cfg); err != nil {
		fmt.Fprintln(os.Stderr, "ingester:", err)
		os.Exit(1)
	}
}

func run(cfg *config.Config) error {
	log := telemetry.NewLogger(os.Stderr, cfg.Log, "ingester")
	log.Info("starting", "version", buildinfo.Version, "config", envconfig.Redacted(cfg),
		"queue_policy", cfg.Policy().String())
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	reg := telemetry.NewRegistry()
	p, err := pipeline.New(cfg, reg, log)
	if err != nil {
		return err
	}
	srv := telemetry.NewServer(reg, log)
	srv.Ready("tetragon", p.TetragonReady)
	srv.Ready("kafka", p.KafkaReady)
	if cfg.DebugPprof {
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
	return p.Run(ctx)
}
