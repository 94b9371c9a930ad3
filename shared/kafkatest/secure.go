package kafkatest

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Users of kafka.sh's secure mode (KAFKA_SECURITY=sasl_ssl). Their ACLs are
// listed in kafka.sh's header; admin is a super user.
const (
	UserIngester = "ingester"
	UserFanout   = "fanout"
	UserConsumer = "consumer"
	UserAdmin    = "admin"
)

// EnvSecurity names the variable `make test-security` sets to sasl_ssl; with
// it, KAFKA_DATA_DIR (exported by with-kafka.sh) locates the cluster.
const EnvSecurity = "KAFKA_SECURITY"

// Secure is the client side of a secure-mode cluster: the settings kafka.sh
// wrote for each user, and the brokers' logs. SASL_SSL is its only client
// listener, so this package's plaintext helpers (Config, Admin, CreateTopic,
// ConsumeAll, Broker.WaitNodeGone) do not work against it.
type Secure struct {
	// Brokers are the SASL_SSL bootstrap addresses.
	Brokers []string
	// DataDir is the cluster's data dir; Dir its security dir (CA, passwords,
	// per-user settings).
	DataDir, Dir string
}

// SecureBrokers returns the secure cluster `make test-security` runs the
// tests against (KAFKA_SECURITY=sasl_ssl, KAFKA_DATA_DIR and KAFKA_BROKERS, as
// with-kafka.sh exports them). Without one it skips, or fails under CI=true.
// (A test that needs a secure cluster of its own starts one with StartBroker
// and BrokerOptions.Security; a shared one saves the ~30 s of start and ACLs
// per test.)
func SecureBrokers(t testing.TB) *Secure {
	t.Helper()
	if testing.Short() {
		t.Skip("real-Kafka test skipped under -short")
	}
	dataDir := os.Getenv("KAFKA_DATA_DIR")
	if os.Getenv(EnvSecurity) != "sasl_ssl" || dataDir == "" {
		if inCI() {
			t.Fatalf("no secure broker (%s=sasl_ssl and KAFKA_DATA_DIR): CI runs these tests through `make test-security`", EnvSecurity)
		}
		t.Skipf("no secure broker: run `make test-security`, or point %s=sasl_ssl, KAFKA_DATA_DIR and KAFKA_BROKERS at a cluster kafka.sh started in secure mode", EnvSecurity)
	}
	s := &Secure{Brokers: Brokers(t), DataDir: dataDir, Dir: filepath.Join(dataDir, "security")}
	if _, err := os.Stat(filepath.Join(s.Dir, UserIngester+".env")); err != nil {
		t.Fatalf("%s=sasl_ssl but %s holds no secure-mode settings: %v", EnvSecurity, s.Dir, err)
	}
	return s
}

// Secure returns the client settings of a broker started with
// Security "sasl_ssl".
func (b *Broker) Secure() *Secure {
	b.t.Helper()
	if b.security != "sasl_ssl" {
		b.t.Fatalf("kafkatest: Secure on a %q broker (want BrokerOptions.Security sasl_ssl)", b.security)
	}
	return &Secure{Brokers: b.Addrs(), DataDir: b.dataDir, Dir: filepath.Join(b.dataDir, "security")}
}

// Env returns the variables kafka.sh printed for user (KAFKA_BROKERS,
// KAFKA_TLS_ENABLED, KAFKA_TLS_CA_FILE, KAFKA_SASL_MECHANISM=SCRAM-SHA-512,
// KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD_FILE): what a binary running as
// that user needs.
func (s *Secure) Env(t testing.TB, user string) map[string]string {
	t.Helper()
	path := filepath.Join(s.Dir, user+".env")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("settings of %s: %v", user, err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: not NAME=value: %q", path, line)
		}
		env[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if env["KAFKA_SASL_USERNAME"] != user {
		t.Fatalf("%s: KAFKA_SASL_USERNAME=%q, want %q", path, env["KAFKA_SASL_USERNAME"], user)
	}
	return env
}

// Password returns user's password (the same for every SASL mechanism).
func (s *Secure) Password(t testing.TB, user string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dir, user+".password"))
	if err != nil {
		t.Fatalf("password of %s: %v", user, err)
	}
	return strings.TrimSpace(string(b))
}

// CAFile is the PEM CA that signed the brokers' certificate.
func (s *Secure) CAFile() string { return filepath.Join(s.Dir, "ca.pem") }

// AuthorizerLog returns every node's authorizer.log (rotated files
// included): one line per authorization decision, allowed ones too, naming
// the principal, operation, resource and request.
func (s *Secure) AuthorizerLog(t testing.TB) string { return s.nodeLogs(t, "authorizer.log") }

// ServerLog returns every node's server.log (failed authentications are
// logged there).
func (s *Secure) ServerLog(t testing.TB) string { return s.nodeLogs(t, "server.log") }

func (s *Secure) nodeLogs(t testing.TB, name string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.DataDir, "node-*", name+"*"))
	if err != nil {
		t.Fatal(err)
	}
	// Oldest rotation first (name.2, name.1, name), so lines stay in order.
	sort.Slice(files, func(i, j int) bool { return rotation(files[i]) > rotation(files[j]) })
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		b.Write(data)
	}
	return b.String()
}

// rotation is the index of a rotated log file (server.log.2 -> "2"), "" for
// the live one; string order suffices for the few rotations kafka.sh keeps.
func rotation(path string) string {
	base := filepath.Base(path)
	if i := strings.LastIndex(base, ".log."); i >= 0 {
		return base[i+5:]
	}
	return ""
}
