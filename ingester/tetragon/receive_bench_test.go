package tetragon

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/metrics"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim"
)

// The receive benchmark serves events from a separate process (this test
// binary re-executed with BENCH_SIM_SOCKET), so the CPU it measures is the
// receiving side's alone.
func TestMain(m *testing.M) {
	if sock := os.Getenv("BENCH_SIM_SOCKET"); sock != "" {
		cfg := sim.DefaultConfig()
		cfg.Logger = quietLog()
		s, err := sim.New(cfg)
		if err == nil {
			err = s.Start("unix://" + sock)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		<-ctx.Done()
		stop()
		s.Close()
		return
	}
	os.Exit(m.Run())
}

// BenchmarkReceive is the gRPC half of the hot path per event: reading the
// stream from the simulator (as fast as it sends) and taking each
// response's bytes through the passthrough codec. It reports the process's
// CPU per event; the sender runs in another process.
func BenchmarkReceive(b *testing.B) {
	dir, err := os.MkdirTemp("", "recvbench")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "t.sock")
	self, _ := os.Executable()
	srv := exec.Command(self)
	srv.Env = append(os.Environ(), "BENCH_SIM_SOCKET="+sock)
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = srv.Process.Signal(syscall.SIGTERM); _ = srv.Wait() }()
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 500 {
			b.Fatal("simulator did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r, err := NewReceiver(Options{Addr: mustAddr(b, "unix://"+sock), MaxRecvBytes: MinRecvBytes, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 100 * time.Millisecond, HealthyAfter: time.Second},
		metrics.New(prometheus.NewRegistry()), quietLog())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	warm, n, bytes := 20000, 0, 0
	var cpu0 time.Duration
	var start time.Time
	done := make(chan struct{})
	go func() {
		_ = r.Run(ctx, func(raw []byte) {
			n++
			switch {
			case n == warm:
				b.ResetTimer()
				cpu0, start = cpuTime(), time.Now()
			case n > warm:
				bytes += len(raw)
				if n == warm+b.N {
					b.StopTimer()
					b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/event")
					b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
					b.SetBytes(int64(bytes / b.N))
					close(done)
					cancel()
				}
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatal("benchmark did not finish")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
