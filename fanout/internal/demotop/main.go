// Command demotop is the live summary of `make demo`: it reads the
// components' own /metrics endpoints and Kafka once a second and shows,
// with units and a one-line meaning for every number, what flows through
// each stage and topic, what was dropped and why, consumer lag per
// partition, table recovery time and end-to-end latency.
//
// It is a demo tool, not one of the three binaries the project ships: it
// lives under internal/ so `make build` and the images leave it out, and
// deployments/local/demo.sh builds and runs it. It reads only what an
// operator's Prometheus and Kafka tools read, so the numbers it shows are
// the ones a dashboard shows.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type fanoutFlag []endpoint

func (f *fanoutFlag) String() string { return fmt.Sprint(*f) }

func (f *fanoutFlag) Set(v string) error {
	name, url, ok := strings.Cut(v, "=")
	if !ok || name == "" || url == "" {
		return fmt.Errorf("want NAME=URL, got %q", v)
	}
	*f = append(*f, endpoint{name: name, url: strings.TrimRight(url, "/")})
	return nil
}

func main() {
	os.Exit(run())
}

func run() int {
	var (
		cfg     config
		fanouts fanoutFlag
		plain   = flag.Duration("plain-every", 5*time.Second, "when stdout is not a terminal, print a frame this often")
		once    = flag.Bool("once", false, "print one frame (after two samples) and exit")
	)
	flag.StringVar(&cfg.brokers, "brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	flag.StringVar(&cfg.rawTopic, "raw-topic", "tetragon.raw", "the raw topic (RAW_TOPIC)")
	flag.StringVar(&cfg.dlqTopic, "dlq-topic", "tetragon.dlq", "the DLQ topic (DLQ_TOPIC)")
	flag.StringVar(&cfg.group, "group", "tetragon-fanout", "the fanout group (FANOUT_GROUP)")
	flag.StringVar(&cfg.topicPrefix, "topic-prefix", "tetragon.", "output topics shown are those starting with this")
	flag.StringVar(&cfg.sim.url, "sim", "", "tetragon-sim metrics base URL (http://host:port)")
	flag.StringVar(&cfg.ingester.url, "ingester", "", "ingester base URL (http://host:port)")
	flag.Var(&fanouts, "fanout", "a fanout replica as NAME=http://host:port (repeatable)")
	flag.StringVar(&cfg.title, "title", "", "one line describing what runs (shown at the top)")
	flag.DurationVar(&cfg.interval, "interval", time.Second, "refresh interval")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "demotop: unexpected argument %q\n", flag.Arg(0))
		return 2
	}
	if cfg.interval < 100*time.Millisecond {
		fmt.Fprintln(os.Stderr, "demotop: -interval must be at least 100ms")
		return 2
	}
	cfg.sim.name, cfg.ingester.name = "tetragon-sim", "ingester"
	cfg.sim.url = strings.TrimRight(cfg.sim.url, "/")
	cfg.ingester.url = strings.TrimRight(cfg.ingester.url, "/")
	cfg.fanouts = fanouts

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := newCollector(cfg)
	defer c.close()

	tty := isTerminal(os.Stdout)
	tick := time.NewTicker(cfg.interval)
	defer tick.Stop()
	var lastPlain time.Time
	for n := 1; ; n++ {
		snap := c.collect(ctx)
		frame := render(cfg, c.history, snap)
		switch {
		case *once:
			if n >= 2 {
				fmt.Print(frame)
				return 0
			}
		case tty:
			// Home, clear, frame: redrawn in place.
			fmt.Print("\x1b[H\x1b[2J" + frame)
		case n == 1 || time.Since(lastPlain) >= *plain:
			fmt.Printf("\n%s\n%s", strings.Repeat("=", 100), frame)
			lastPlain = time.Now()
		}
		select {
		case <-ctx.Done():
			if !tty && !*once {
				fmt.Printf("\n%s\n%s", strings.Repeat("=", 100), frame)
			}
			fmt.Println("\ndemotop: stopped (Ctrl-C)")
			return 0
		case <-tick.C:
		}
	}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
