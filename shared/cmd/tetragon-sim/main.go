// Command tetragon-sim is a stand-in for a Tetragon agent: it serves the
// FineGuidanceSensors gRPC API and streams synthetic or replayed events.
// All the work is in package sim; this file parses flags.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tetragon-fanout/tetragon-fanout/shared/sim"
)

func main() {
	// Events are short-lived garbage and the live heap is small (queues):
	// a lazier GC buys ~40% throughput for little memory. GOGC still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// run returns the exit code: 0 ok, 1 runtime failure, 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "version" {
		fmt.Fprintln(stdout, sim.VersionString())
		return 0
	}
	cfg := sim.DefaultConfig()
	fs := flag.NewFlagSet("tetragon-sim", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported below, briefly
	var (
		listen      = fs.String("listen", "localhost:54321", "`address` to serve on: unix:///path or host:port")
		replay      multiFlag
		dupDelay    = fs.Duration("dup-delay", 0, "delay between an event and its duplicate (default: random 1ms..100ms)")
		logLevel    = fs.String("log-level", "info", "debug, info, warn or error")
		logFormat   = fs.String("log-format", "text", "text or json")
		metricsAddr = fs.String("metrics-addr", "", "serve Prometheus /metrics on this host:port (off when empty)")
		tlsCert     = fs.String("tls-cert", "", "PEM server certificate `file`: serve TLS (with --tls-key)")
		tlsKey      = fs.String("tls-key", "", "PEM server key `file` (with --tls-cert)")
		tlsClientCA = fs.String("tls-client-ca", "", "PEM CA `file`: require client certificates it signed (mTLS; needs --tls-cert)")
	)
	fs.Uint64Var(&cfg.Events, "events", 0, "distinct events to send in total; 0 = unbounded")
	fs.Float64Var(&cfg.Rate, "rate", 0, "distinct events per second; 0 = as fast as the clients read (no drops)")
	fs.Float64Var(&cfg.DupRatio, "dup-ratio", 0, "share of events sent a second time (0..1)")
	fs.Var(&replay, "replay", "Tetragon JSON export `file` to replay instead of generating (repeatable)")
	fs.Int64Var(&cfg.Seed, "seed", cfg.Seed, "seed for generated content (identities always differ between runs)")
	fs.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "simulated nodes")
	fs.IntVar(&cfg.Namespaces, "namespaces", cfg.Namespaces, "simulated namespaces")
	fs.IntVar(&cfg.Pods, "pods", cfg.Pods, "simulated pods")
	fs.StringVar(&cfg.Cluster, "cluster", "", "cluster_name to put in events (empty: none, as Tetragon's default)")
	fs.BoolVar(&cfg.RateLimitInfo, "rate-limit-info", false,
		"send rate_limit_info events too (generated, or kept from --replay files); Tetragon writes them only to its export file, never to gRPC, and tetra -o compact fails on them")
	fs.IntVar(&cfg.WaitClients, "wait-clients", cfg.WaitClients, "start the stream once this many clients are connected")
	fs.IntVar(&cfg.Queue, "queue", cfg.Queue, "per-client queue length (events)")
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: tetragon-sim [flags]\n       tetragon-sim version\n\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "  %s\n    \t%s", strings.TrimSpace("--"+f.Name+" "+name), usage)
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "[]" && f.DefValue != "0s" && f.DefValue != "false" {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(w)
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		// flag's messages name the flag: invalid value "x" for flag -rate: ...
		fmt.Fprintf(stderr, "tetragon-sim: %v\nRun 'tetragon-sim --help' for the flags.\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tetragon-sim: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "dup-delay" {
			cfg.DupDelayMin, cfg.DupDelayMax = *dupDelay, *dupDelay
		}
	})
	cfg.Replay = replay
	if err := sim.ValidateAddr(*listen); err != nil {
		fmt.Fprintf(stderr, "tetragon-sim: --listen: %v\n", err)
		return 2
	}
	if *metricsAddr != "" {
		if err := sim.ValidateHostPort(*metricsAddr); err != nil {
			fmt.Fprintf(stderr, "tetragon-sim: --metrics-addr: %v\n", err)
			return 2
		}
	}
	tc, flagName, err := serverTLS(*tlsCert, *tlsKey, *tlsClientCA)
	if err != nil {
		fmt.Fprintf(stderr, "tetragon-sim: --%s: %v\n", flagName, err)
		return 2
	}
	cfg.TLS = tc
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "tetragon-sim: --log-level: %q is not debug, info, warn or error\n", *logLevel)
		return 2
	}
	var h slog.Handler
	switch *logFormat {
	case "text":
		h = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	case "json":
		h = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	default:
		fmt.Fprintf(stderr, "tetragon-sim: --log-format: %q is not text or json\n", *logFormat)
		return 2
	}
	cfg.Logger = slog.New(h)

	s, err := sim.New(cfg)
	var ce *sim.ConfigError
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "tetragon-sim: %v\n", ce)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "tetragon-sim: %v\n", err)
		return 1
	}
	defer s.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	metricsFailed := make(chan error, 1)
	if *metricsAddr != "" {
		// Bound here, not in the serving goroutine, so an address that
		// cannot be bound stops the start instead of being logged while
		// the simulator runs on without the metrics a test relies on.
		l, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			fmt.Fprintf(stderr, "tetragon-sim: --metrics-addr: %v\n", err)
			return 1
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(s.Collector())
		srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				metricsFailed <- err
				stop()
			}
		}()
		defer srv.Close()
	}
	if err := s.ListenAndServe(ctx, *listen); err != nil {
		fmt.Fprintf(stderr, "tetragon-sim: --listen: %v\n", err)
		return 1
	}
	select {
	case err := <-metricsFailed:
		fmt.Fprintf(stderr, "tetragon-sim: --metrics-addr: serve %s: %v\n", *metricsAddr, err)
		return 1
	default:
	}
	return 0
}

// serverTLS builds the TLS configuration of the flags (nil: plaintext), or
// returns the name of the flag that is wrong.
func serverTLS(certFile, keyFile, clientCAFile string) (*tls.Config, string, error) {
	switch {
	case certFile == "" && keyFile == "" && clientCAFile == "":
		return nil, "", nil
	case certFile == "":
		if keyFile != "" {
			return nil, "tls-cert", errors.New("required with --tls-key")
		}
		return nil, "tls-cert", errors.New("required with --tls-client-ca")
	case keyFile == "":
		return nil, "tls-key", errors.New("required with --tls-cert")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, "tls-cert", err
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, "tls-client-ca", err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, "tls-client-ca", fmt.Errorf("%s holds no PEM certificate", clientCAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, "", nil
}
