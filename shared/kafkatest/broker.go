package kafkatest

import (
	"bytes"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// BrokerOptions shape a private broker.
type BrokerOptions struct {
	// Nodes is 1 (default) or 3 (three brokers, three-voter controller quorum,
	// default replication factor 3 and min.insync 2 for internal topics).
	Nodes int
	// Heap is the max heap per broker JVM (default 512m: tests may run several).
	Heap string
	// Security is "" or "plaintext" (default), or "sasl_ssl": kafka.sh's secure
	// mode (SASL_SSL only, ACLs); Broker.Secure returns its client settings.
	Security string
}

// Broker is a private Kafka cluster run by deployments/local/kafka.sh in a temporary
// data dir. Its methods fail the test on error, so call them from the test goroutine.
type Broker struct {
	t        testing.TB
	script   string
	dataDir  string
	port     int
	cport    int
	nodes    int
	heap     string
	security string
}

// Port ranges for private brokers: below Linux's ephemeral range (32768+), so outgoing
// connections never hold them, and above the ports people use by hand (9092, 19xxx
// with controllers at +1000).
const (
	portRangeLow  = 30000
	portRangeHigh = 32700
	exitPortInUse = 3 // kafka.sh's exit code for "port already in use"
)

// StartBroker starts a fresh private Kafka cluster for this test and stops it at
// cleanup. It is for tests that stop, kill or restart the broker; everything else
// shares the `make test` broker through Brokers. It skips or fails like Brokers when
// no real Kafka is expected (no KAFKA_BROKERS), since it needs Java and the jar cache.
func StartBroker(t testing.TB, opts BrokerOptions) *Broker {
	t.Helper()
	requireKafka(t)
	if opts.Nodes == 0 {
		opts.Nodes = 1
	}
	if opts.Nodes != 1 && opts.Nodes != 3 {
		t.Fatalf("kafkatest.StartBroker: Nodes=%d, want 1 or 3", opts.Nodes)
	}
	if opts.Heap == "" {
		opts.Heap = "512m"
	}
	switch opts.Security {
	case "", "plaintext", "sasl_ssl":
	default:
		t.Fatalf("kafkatest.StartBroker: Security=%q, want plaintext or sasl_ssl", opts.Security)
	}
	b := &Broker{
		t:        t,
		script:   filepath.Join(RepoRoot(t), "deployments", "local", "kafka.sh"),
		dataDir:  t.TempDir(),
		nodes:    opts.Nodes,
		heap:     opts.Heap,
		security: opts.Security,
	}
	// Registered before starting, so a half-started cluster is stopped too.
	t.Cleanup(b.cleanup)
	for attempt := 1; ; attempt++ {
		// Client ports base..base+n-1, controller ports right after them.
		b.port = freePortRange(t, 2*opts.Nodes)
		b.cport = b.port + opts.Nodes
		err := b.run("start")
		if err == nil {
			return b
		}
		var ee *exec.ExitError
		if attempt < 5 && errors.As(err, &ee) && ee.ExitCode() == exitPortInUse {
			// Another process took the ports between our check and the script's.
			continue
		}
		t.Fatalf("start kafka: %v", err)
	}
}

// Addrs returns the bootstrap addresses of all nodes.
func (b *Broker) Addrs() []string {
	out := make([]string, b.nodes)
	for i := range out {
		out[i] = "127.0.0.1:" + strconv.Itoa(b.port+i)
	}
	return out
}

// Addr returns the address of node (1-based).
func (b *Broker) Addr(node int) string {
	b.checkNode(node)
	return "127.0.0.1:" + strconv.Itoa(b.port+node-1)
}

// DataDir is the cluster's data dir; node N's broker log is node-N/server.log.
func (b *Broker) DataDir() string { return b.dataDir }

// Start starts every node that is not running, on the same ports and data, and
// returns when all running nodes answer metadata requests listing each other.
func (b *Broker) Start() {
	b.t.Helper()
	if err := b.run("start"); err != nil {
		b.t.Fatalf("start kafka: %v", err)
	}
}

// StartNode starts one stopped or killed node (1-based).
func (b *Broker) StartNode(node int) {
	b.t.Helper()
	b.checkNode(node)
	if err := b.run("start", strconv.Itoa(node)); err != nil {
		b.t.Fatalf("start kafka node %d: %v", node, err)
	}
}

// Stop shuts every node down cleanly (SIGTERM) and waits for them to exit.
func (b *Broker) Stop() {
	b.t.Helper()
	if err := b.run("stop"); err != nil {
		b.t.Fatalf("stop kafka: %v", err)
	}
}

// StopNode shuts one node down cleanly.
func (b *Broker) StopNode(node int) {
	b.t.Helper()
	b.checkNode(node)
	if err := b.run("stop", strconv.Itoa(node)); err != nil {
		b.t.Fatalf("stop kafka node %d: %v", node, err)
	}
}

// Kill kills one node with SIGKILL: no controlled shutdown, no flush.
func (b *Broker) Kill(node int) {
	b.t.Helper()
	b.checkNode(node)
	if err := b.run("kill", strconv.Itoa(node)); err != nil {
		b.t.Fatalf("kill kafka node %d: %v", node, err)
	}
}

// WaitNodeGone waits until the cluster has noticed that node is gone: the other
// nodes no longer list it in their metadata and it leads no partition of topics.
// Until then (a killed node is only fenced when its session times out, 6 s) clients
// keep sending to the dead leader.
func (b *Broker) WaitNodeGone(node int, timeout time.Duration, topics ...string) {
	b.t.Helper()
	b.checkNode(node)
	var live []string
	for n := 1; n <= b.nodes; n++ {
		if n != node {
			live = append(live, b.Addr(n))
		}
	}
	client, err := sarama.NewClient(live, Config())
	if err != nil {
		b.t.Fatalf("kafka client for %v: %v", live, err)
	}
	defer func() { _ = client.Close() }()
	deadline := time.Now().Add(timeout)
	for {
		err := nodeGone(client, int32(node), topics)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("node %d still in the cluster after %s: %v", node, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func nodeGone(client sarama.Client, node int32, topics []string) error {
	if err := client.RefreshMetadata(topics...); err != nil {
		return err
	}
	for _, br := range client.Brokers() {
		if br.ID() == node {
			return fmt.Errorf("listed as broker %s", br.Addr())
		}
	}
	for _, topic := range topics {
		ps, err := client.Partitions(topic)
		if err != nil {
			return err
		}
		for _, p := range ps {
			leader, err := client.Leader(topic, p)
			if err != nil {
				return fmt.Errorf("%s/%d: %w", topic, p, err)
			}
			if leader.ID() == node {
				return fmt.Errorf("still leads %s/%d", topic, p)
			}
		}
	}
	return nil
}

func (b *Broker) checkNode(node int) {
	b.t.Helper()
	if node < 1 || node > b.nodes {
		b.t.Fatalf("kafkatest: node %d, want 1..%d", node, b.nodes)
	}
}

func (b *Broker) cleanup() {
	if b.t.Failed() {
		b.logTails()
	}
	if err := b.run("stop"); err != nil {
		b.t.Errorf("stop kafka at cleanup: %v", err)
	}
}

// logTails puts the end of each node's broker log into a failed test's output.
func (b *Broker) logTails() {
	for n := 1; n <= b.nodes; n++ {
		path := filepath.Join(b.dataDir, fmt.Sprintf("node-%d", n), "server.log")
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		b.t.Logf("last lines of %s:\n%s", path, strings.Join(lines, "\n"))
	}
}

// run runs kafka.sh with this cluster's settings and logs its output.
func (b *Broker) run(args ...string) error {
	cmd := exec.Command("bash", append([]string{b.script}, args...)...)
	cmd.Env = append(os.Environ(),
		"KAFKA_DATA_DIR="+b.dataDir,
		"KAFKA_PORT="+strconv.Itoa(b.port),
		"KAFKA_CONTROLLER_PORT="+strconv.Itoa(b.cport),
		"KAFKA_NODES="+strconv.Itoa(b.nodes),
		"KAFKA_HEAP="+b.heap,
		"KAFKA_SECURITY="+b.security,
		// The script's watchdog stops the brokers if this test binary dies
		// without running cleanups (panic, -timeout).
		"KAFKA_OWNER_PID="+strconv.Itoa(os.Getpid()),
	)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	b.t.Logf("kafka.sh %s (%s): %s", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond),
		strings.TrimSpace(out.String()))
	if err != nil {
		return fmt.Errorf("kafka.sh %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// freePortRange returns the first of n consecutive ports that are free on 127.0.0.1
// now. Another process can still take them before the broker binds; kafka.sh then
// exits with exitPortInUse and StartBroker tries another range.
func freePortRange(t testing.TB, n int) int {
	t.Helper()
	for range 200 {
		base := portRangeLow + mrand.IntN(portRangeHigh-portRangeLow-n)
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				continue
			}
			_ = l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports in %d..%d", n, portRangeLow, portRangeHigh)
	return 0
}
