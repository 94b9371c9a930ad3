//go:build security

package securitytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaclient"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

// --- binaries ------------------------------------------------------------------

type bins struct{ ingester, fanout, sim string }

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binaries builds the three binaries once per test run: the tests run them
// as an operator would, as separate processes.
func binaries(t *testing.T) bins {
	t.Helper()
	root := kafkatest.RepoRoot(t)
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "securitytest-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", buildDir+string(os.PathSeparator),
			"./ingester/cmd/ingester", "./fanout/cmd/fanout", "./shared/cmd/tetragon-sim")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bins{
		ingester: filepath.Join(buildDir, "ingester"),
		fanout:   filepath.Join(buildDir, "fanout"),
		sim:      filepath.Join(buildDir, "tetragon-sim"),
	}
}

// --- processes -----------------------------------------------------------------

// proc is a binary running for one test, stopped at cleanup; its output is
// kept for assertions and shown when the test fails.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

func startProc(t *testing.T, name, bin string, env map[string]string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// Only what the test sets: the test's own KAFKA_* must not leak in.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	p := &proc{t: t, name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.stop()
		if t.Failed() {
			t.Logf("--- output of %s (last 60 lines):\n%s", name, tail(p.Logs(), 60))
		}
	})
	return p
}

func (p *proc) Logs() string { return p.out.String() }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits (SIGKILL after 30 s); it returns the exit error.
func (p *proc) stop() error {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	return p.err
}

// waitLog waits until the output holds every one of subs.
func (p *proc) waitLog(timeout time.Duration, subs ...string) bool {
	deadline := time.Now().Add(timeout)
	for {
		logs := p.Logs()
		all := true
		for _, s := range subs {
			if !strings.Contains(logs, s) {
				all = false
				break
			}
		}
		if all {
			return true
		}
		if time.Now().After(deadline) || p.exited() {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cpuTime is the user+system CPU time the process used so far.
func (p *proc) cpuTime() time.Duration {
	p.t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/stat")
	if err != nil {
		p.t.Fatalf("cpu time of %s: %v", p.name, err)
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freeAddr returns a 127.0.0.1 address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// merge layers env maps; an empty value unsets the variable (the binaries
// refuse a declared variable set to empty).
func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			if v == "" {
				delete(out, k)
				continue
			}
			out[k] = v
		}
	}
	return out
}

// --- HTTP ----------------------------------------------------------------------

var httpClient = &http.Client{Timeout: 5 * time.Second}

func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := httpClient.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitHTTP waits until path answers code.
func waitHTTP(t *testing.T, p *proc, addr, path string, code int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, body := get(t, addr, path)
		if c == code {
			return body
		}
		if time.Now().After(deadline) || p.exited() {
			t.Fatalf("%s %s: %d after %s (exited %v), want %d:\n%s", p.name, path, c, timeout, p.exited(), code, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// metric sums the samples of a metric whose label set holds labels (e.g.
// `reason="queue_full_oldest"`; empty: all).
func metric(body, name, labels string) float64 {
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name) || strings.HasPrefix(line, "#") {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue // a longer name with this prefix
		}
		if labels != "" && !strings.Contains(rest, labels) {
			continue
		}
		f := strings.Fields(rest)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// --- Kafka clients ---------------------------------------------------------------

// clientConfig is the project's connection config from the variables kafka.sh
// printed (what the binaries parse), so these clients are built exactly as
// the binaries' are.
func clientConfig(t *testing.T, env map[string]string) *kafkaclient.Config {
	t.Helper()
	var c kafkaclient.Config
	if err := envconfig.ParseEnv(&c, env); err != nil {
		t.Fatalf("kafka settings %v: %v", redactEnv(env), err)
	}
	return &c
}

func saramaConfig(t *testing.T, env map[string]string, clientID string) *sarama.Config {
	t.Helper()
	sc, err := clientConfig(t, env).Sarama(clientID)
	if err != nil {
		t.Fatal(err)
	}
	sc.Net.DialTimeout = 5 * time.Second
	sc.Metadata.Retry.Max = 1
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	return sc
}

func redactEnv(env map[string]string) map[string]string {
	out := merge(env)
	if _, ok := out["KAFKA_SASL_PASSWORD"]; ok {
		out["KAFKA_SASL_PASSWORD"] = "***"
	}
	return out
}

// --- certificates ----------------------------------------------------------------

// pki is a CA with a server certificate for 127.0.0.1, a client certificate,
// and a second CA that signed neither.
type pki struct {
	caFile, otherCAFile   string
	serverCert, serverKey string
	clientCert, clientKey string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	p := &pki{}
	ca, caKey := newCA(t, dir, "ca", &p.caFile)
	_, _ = newCA(t, dir, "other-ca", &p.otherCAFile)
	p.serverCert, p.serverKey = issue(t, dir, "server", ca, caKey, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = issue(t, dir, "client", ca, caKey, x509.ExtKeyUsageClientAuth)
	return p
}

func newCA(t *testing.T, dir, name string, file *string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	*file = writePEM(t, dir, name+".pem", "CERTIFICATE", der)
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

func issue(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", kder)
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
