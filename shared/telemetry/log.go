// Package telemetry is what every binary serves and logs the same way:
// structured slog logs and one HTTP server with /metrics, /healthz and
// /readyz.
package telemetry

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
)

// LogConfig selects the log level and format.
type LogConfig struct {
	Level  string `env:"LOG_LEVEL" envDefault:"info" help:"debug, info, warn or error"`
	Format string `env:"LOG_FORMAT" envDefault:"json" help:"json or text"`
}

// Validate checks the level and format names.
func (c LogConfig) Validate() error {
	if _, err := parseLevel(c.Level); err != nil {
		return envconfig.Errorf("LOG_LEVEL", "%v", err)
	}
	if c.Format != "json" && c.Format != "text" {
		return envconfig.Errorf("LOG_FORMAT", "must be json or text, got %q", c.Format)
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("must be debug, info, warn or error, got %q", s)
	}
	return l, nil
}

// NewLogger builds the process logger; component is added to every record.
func NewLogger(w io.Writer, c LogConfig, component string) *slog.Logger {
	lvl, err := parseLevel(c.Level)
	if err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	if c.Format == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h).With("component", component)
}
