package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
)

// HTTPConfig is the address of the telemetry server.
type HTTPConfig struct {
	Addr string `env:"HTTP_ADDR" envDefault:":8080" help:"listen address of /metrics, /healthz and /readyz"`
	// Pprof: shared/app mounts net/http/pprof on the server.
	Pprof bool `env:"DEBUG_PPROF" envDefault:"false" help:"serve Go's /debug/pprof on HTTP_ADDR (profiling; keep off in production)"`
}

// Validate checks that HTTP_ADDR is [host]:port.
func (c HTTPConfig) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return envconfig.Errorf("HTTP_ADDR", "%q: want [host]:port", c.Addr)
	}
	return nil
}

// NewRegistry returns a registry with the Go runtime and process collectors,
// so every binary exports its own CPU and RSS (the benchmarks read them).
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Check reports nil when one part of the component can do its job.
type Check func() error

// Server serves /metrics, /healthz and /readyz, plus whatever a component
// mounts on it (the fanout's goka monitor).
type Server struct {
	mux *http.ServeMux
	log *slog.Logger

	mu     sync.Mutex
	checks map[string]Check
	live   map[string]Check
}

// NewServer builds the server; nothing listens until Run.
func NewServer(reg *prometheus.Registry, log *slog.Logger) *Server {
	s := &Server{mux: http.NewServeMux(), log: log, checks: map[string]Check{}, live: map[string]Check{}}
	s.mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s.mux.HandleFunc("/healthz", s.healthz)
	s.mux.HandleFunc("/readyz", s.readyz)
	return s
}

// Live registers a liveness check; /healthz is 200 only when all pass. A
// failing liveness check makes Kubernetes restart the pod: register only
// what a restart fixes (a wedged component), never a dependency being
// down, or every replica restarts during an outage.
func (s *Server) Live(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live[name] = c
}

// Ready registers a readiness check; /readyz is 200 only when all pass.
func (s *Server) Ready(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// Handle mounts an extra handler.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler is the server's mux, for tests.
func (s *Server) Handler() http.Handler { return s.mux }

// Readiness runs every readiness check and returns the failures, sorted by
// name.
func (s *Server) Readiness() []string { return s.run(s.checks) }

// Liveness runs every liveness check and returns the failures, sorted by
// name.
func (s *Server) Liveness() []string { return s.run(s.live) }

func (s *Server) run(set map[string]Check) []string {
	s.mu.Lock()
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	checks := make(map[string]Check, len(set))
	for n, c := range set {
		checks[n] = c
	}
	s.mu.Unlock()
	sort.Strings(names)
	var failed []string
	for _, n := range names {
		if err := checks[n](); err != nil {
			failed = append(failed, n+": "+err.Error())
		}
	}
	return failed
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	if failed := s.Liveness(); len(failed) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not live\n"+strings.Join(failed, "\n"))
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if failed := s.Readiness(); len(failed) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready\n"+strings.Join(failed, "\n"))
		return
	}
	fmt.Fprintln(w, "ready")
}

// Run listens on addr until ctx ends. A listen failure is returned at once
// (a taken port is a start-up error, not something to retry).
func (s *Server) Run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("telemetry: listen on HTTP_ADDR %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	s.log.Info("telemetry server listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("telemetry: serve: %w", err)
	}
	return nil
}
