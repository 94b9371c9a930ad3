package sim

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"math"
	"time"

	"google.golang.org/grpc"

	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/source"
)

// Config configures a Server. Field comments name the tetragon-sim flag
// that sets them.
type Config struct {
	// Events is the number of distinct events to send; 0 is unbounded
	// (--events).
	Events uint64
	// Rate is distinct events per second (--rate). 0 means as fast as the
	// clients read: queues then block instead of dropping, so a slow
	// client slows the stream and nothing is lost. With a rate, a full
	// client queue drops the event for that client, as Tetragon does, and
	// counts it.
	Rate float64
	// DupRatio is the share of distinct events sent a second time
	// (--dup-ratio): the same event, re-marshalled, as a second Tetragon
	// stream would deliver it.
	DupRatio float64
	// DupDelayMin and DupDelayMax bound the random delay between an event
	// and its duplicate (--dup-delay sets both).
	DupDelayMin, DupDelayMax time.Duration
	// Replay lists Tetragon JSON export files to replay instead of the
	// generator (--replay, repeatable).
	Replay []string
	// Generator settings (--seed, --nodes, --namespaces, --pods, --cluster).
	Seed       int64
	Nodes      int
	Namespaces int
	Pods       int
	Cluster    string
	// RateLimitInfo lets rate_limit_info events onto the gRPC stream
	// (--rate-limit-info): the generator makes some, and replay keeps the
	// ones its files hold. Off by default, because Tetragon writes them
	// only to its JSON export file, never to the gRPC stream, and
	// Tetragon's own clients fail on one (tetra getevents -o compact:
	// "unknown event type"). Replay drops them from the files when off,
	// counted in the log.
	RateLimitInfo bool
	// WaitClients: generation starts (and, after Stop, resumes) once this
	// many clients are connected (--wait-clients). Once started, a stream
	// with a Rate keeps generating while no client is connected, as a
	// node keeps producing events while its reader restarts; those events
	// are lost and counted (Stats().Dropped["no_client"]). A stream paced
	// by its clients (Rate 0) waits for one instead.
	WaitClients int
	// Queue is each client's queue length in events (--queue).
	Queue int
	// StopTimeout bounds how long Stop waits for clients to take what is
	// queued for them before it cuts the connections.
	StopTimeout time.Duration

	Logger *slog.Logger
	// TLS, when set, makes the server speak TLS (set ClientAuth and
	// ClientCAs for mTLS). ServerOptions are appended to the server's own.
	TLS           *tls.Config
	ServerOptions []grpc.ServerOption

	// Record keeps every sent event (Server.Records); for tests.
	Record bool
	// OnSend is called, in order, for every event sent (duplicates too),
	// from the sending goroutine: keep it fast.
	OnSend func(Sent)
	// Source replaces the generator and Replay (tests).
	Source source.Source
}

// DefaultConfig holds the defaults the tetragon-sim flags show.
func DefaultConfig() Config {
	return Config{
		DupDelayMin: time.Millisecond, DupDelayMax: 100 * time.Millisecond,
		Seed: 1, Nodes: 3, Namespaces: 8, Pods: 60,
		WaitClients: 1, Queue: 10000, StopTimeout: 5 * time.Second,
	}
}

// ConfigError names the setting (by its flag name) that is wrong.
type ConfigError struct {
	Flag string
	Msg  string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("--%s: %s", e.Flag, e.Msg) }

func cfgErr(flag, format string, args ...any) error {
	return &ConfigError{Flag: flag, Msg: fmt.Sprintf(format, args...)}
}

// Validate reports the first unusable setting as a *ConfigError.
func (c *Config) Validate() error {
	switch {
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return cfgErr("rate", "must be a finite number >= 0, got %v", c.Rate)
	case c.DupRatio < 0 || c.DupRatio > 1 || math.IsNaN(c.DupRatio):
		return cfgErr("dup-ratio", "must be between 0 and 1, got %v", c.DupRatio)
	case c.DupDelayMin < 0 || c.DupDelayMax < c.DupDelayMin:
		return cfgErr("dup-delay", "must be >= 0 (range %v..%v)", c.DupDelayMin, c.DupDelayMax)
	case c.WaitClients < 1:
		return cfgErr("wait-clients", "must be at least 1, got %d", c.WaitClients)
	case c.Queue < 1:
		return cfgErr("queue", "must be at least 1, got %d", c.Queue)
	case c.StopTimeout <= 0:
		return cfgErr("stop-timeout", "must be > 0, got %v", c.StopTimeout)
	}
	if c.Source != nil || len(c.Replay) > 0 {
		return nil
	}
	switch {
	case c.Nodes < 1:
		return cfgErr("nodes", "must be at least 1, got %d", c.Nodes)
	case c.Pods < 1:
		return cfgErr("pods", "must be at least 1, got %d", c.Pods)
	case c.Namespaces < 1 || c.Namespaces > c.Pods:
		return cfgErr("namespaces", "must be between 1 and --pods (%d), got %d", c.Pods, c.Namespaces)
	}
	return nil
}
