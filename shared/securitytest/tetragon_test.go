//go:build security

package securitytest

import (
	"strings"
	"testing"
	"time"
)

// Plaintext gRPC to a Tetragon that is not on this host is refused at start
// (exit 2 naming both variables) unless explicitly allowed, and then it is
// warned about. Loopback TCP and the unix socket (the default) need no TLS.
func TestTetragonPlaintextTCPIsRefused(t *testing.T) {
	b := binaries(t)
	env := map[string]string{"TETRAGON_ADDR": "10.1.2.3:54321", "KAFKA_BROKERS": "127.0.0.1:1", "LOG_FORMAT": "text",
		"SHUTDOWN_TIMEOUT": "1s"}
	p := startProc(t, "ingester", b.ingester, env)
	<-p.done
	if code := p.cmd.ProcessState.ExitCode(); code != 2 {
		t.Fatalf("exit %d, want 2:\n%s", code, p.Logs())
	}
	for _, name := range []string{"TETRAGON_ADDR", "TETRAGON_ALLOW_PLAINTEXT", "TETRAGON_TLS_ENABLED"} {
		if !strings.Contains(p.Logs(), name) {
			t.Errorf("refusal does not name %s:\n%s", name, p.Logs())
		}
	}

	allowed := startProc(t, "ingester-allowed", b.ingester, merge(env, map[string]string{
		"TETRAGON_ALLOW_PLAINTEXT": "true", "HTTP_ADDR": freeAddr(t)}))
	if !allowed.waitLog(10*time.Second, "level=WARN", "TETRAGON_ALLOW_PLAINTEXT=true: events from 10.1.2.3:54321 cross the network in clear") {
		t.Errorf("TETRAGON_ALLOW_PLAINTEXT=true: no start-up warning")
	}
	if allowed.exited() {
		t.Errorf("TETRAGON_ALLOW_PLAINTEXT=true: exited: %v", allowed.err)
	}
}

// tetragon-sim serves TLS and requires a client certificate (mTLS). The
// ingester streams with the right CA and certificate; a wrong CA or a
// missing client certificate never gets an event, is not ready, and says why.
func TestTetragonTLS(t *testing.T) {
	b := binaries(t)
	p := newPKI(t)
	simAddr := freeAddr(t)
	startProc(t, "tetragon-sim", b.sim, nil, "--listen", simAddr, "--rate", "200",
		"--tls-cert", p.serverCert, "--tls-key", p.serverKey, "--tls-client-ca", p.caFile)
	// No Kafka: this is about the Tetragon side; the ingester keeps trying Kafka.
	base := map[string]string{"TETRAGON_ADDR": simAddr, "TETRAGON_TLS_ENABLED": "true", "KAFKA_BROKERS": "127.0.0.1:1",
		"TETRAGON_RECONNECT_MAX": "1s", "SHUTDOWN_TIMEOUT": "1s", "LOG_FORMAT": "text"}
	for _, c := range []struct {
		name string
		env  map[string]string
		why  []string // the error names one of these; none: must stream
	}{
		{"mTLS", map[string]string{"TETRAGON_TLS_CA_FILE": p.caFile, "TETRAGON_TLS_CERT_FILE": p.clientCert, "TETRAGON_TLS_KEY_FILE": p.clientKey}, nil},
		{"wrong CA", map[string]string{"TETRAGON_TLS_CA_FILE": p.otherCAFile, "TETRAGON_TLS_CERT_FILE": p.clientCert, "TETRAGON_TLS_KEY_FILE": p.clientKey},
			[]string{"x509: certificate signed by unknown authority"}},
		// TLS 1.3: the client finishes its handshake before the server
		// checks the client certificate, so the refusal reaches it as the
		// server's alert or, when its first write wins the race, as the
		// closed connection.
		{"no client certificate", map[string]string{"TETRAGON_TLS_CA_FILE": p.caFile},
			[]string{"tls: certificate required", "broken pipe", "connection reset by peer"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := freeAddr(t)
			ing := startProc(t, "ingester", b.ingester, merge(base, c.env, map[string]string{"HTTP_ADDR": addr}))
			if c.why == nil {
				if !ing.waitLog(15*time.Second, "tetragon stream open") {
					t.Fatal("stream not opened")
				}
				deadline := time.Now().Add(15 * time.Second)
				for {
					_, m := get(t, addr, "/metrics")
					if n := metric(m, "ingester_events_received_total", ""); n > 0 {
						t.Logf("received %v events over mTLS", n)
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("no event received over mTLS")
					}
					time.Sleep(200 * time.Millisecond)
				}
				return
			}
			if !ing.waitLog(15*time.Second, "tetragon stream ended") {
				t.Fatal("no log line about the failed stream")
			}
			named := ""
			for _, w := range c.why {
				if strings.Contains(ing.Logs(), w) {
					named = w
				}
			}
			if named == "" {
				t.Errorf("the failed stream's log line names none of %q", c.why)
			} else {
				t.Logf("refused: %s", named)
			}
			_, body := get(t, addr, "/readyz")
			if !strings.Contains(body, "tetragon: GetEvents stream not open") {
				t.Errorf("/readyz:\n%s", body)
			}
			_, m := get(t, addr, "/metrics")
			if n := metric(m, "ingester_events_received_total", ""); n != 0 {
				t.Errorf("received %v events", n)
			}
			if metric(m, "ingester_tetragon_reconnects_total", "") < 1 {
				t.Errorf("failed connections not counted in ingester_tetragon_reconnects_total")
			}
		})
	}
}
