package telemetry

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadyzReflectsChecks(t *testing.T) {
	s := NewServer(NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	ok := false
	s.Ready("kafka", func() error {
		if !ok {
			return errors.New("not connected")
		}
		return nil
	})
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "kafka: not connected") {
		t.Fatalf("readyz = %d %q", code, body)
	}
	ok = true
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz = %d after check passes", code)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthz = %d", code)
	}
	live := errors.New("wedged")
	s.Live("processor", func() error { return live })
	if code, body := get("/healthz"); code != 503 || !strings.Contains(body, "processor: wedged") {
		t.Fatalf("healthz = %d %q with a failing liveness check", code, body)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz = %d: a liveness check leaked into readiness", code)
	}
	live = nil
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthz = %d after the liveness check passes", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics = %d", code)
	}
}

func TestLogConfigValidate(t *testing.T) {
	if err := (LogConfig{Level: "loud", Format: "json"}).Validate(); err == nil || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Fatalf("err = %v", err)
	}
	if err := (LogConfig{Level: "debug", Format: "xml"}).Validate(); err == nil || !strings.Contains(err.Error(), "LOG_FORMAT") {
		t.Fatalf("err = %v", err)
	}
	if err := (LogConfig{Level: "warn", Format: "text"}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestHTTPConfigValidate(t *testing.T) {
	for addr, ok := range map[string]bool{":8080": true, "127.0.0.1:0": true, "[::1]:9": true, "8080": false, "": false, "localhost": false} {
		err := HTTPConfig{Addr: addr}.Validate()
		if (err == nil) != ok || err != nil && !strings.HasPrefix(err.Error(), "HTTP_ADDR: ") {
			t.Errorf("%q: %v, want ok=%v (an error naming HTTP_ADDR)", addr, err, ok)
		}
	}
}
