package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/redrive"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
)

// runRedrive is `fanout dlq-redrive [-dry-run] [-reasons a,b|all]`.
func runRedrive(args []string) int {
	fs := flag.NewFlagSet("fanout dlq-redrive", flag.ContinueOnError)
	dry := fs.Bool("dry-run", false, "count what would be re-produced; produce and commit nothing")
	reasons := fs.String("reasons", strings.Join(redrive.Retryable, ","),
		"comma-separated tf-error-reason values to re-produce, or all")
	var cfg redrive.Config
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "fanout dlq-redrive: read DLQ_TOPIC from the last run's position to its end and re-produce\n"+
			"the messages whose tf-error-reason is selected to RAW_TOPIC (same key, value and headers,\n"+
			"plus tf-redrive). Progress is committed as <FANOUT_GROUP>-dlq-redrive.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintln(os.Stderr)
		envconfig.Usage(os.Stderr, "fanout dlq-redrive", "re-produce retryable DLQ messages", &cfg)
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return envconfig.ExitInvalid
	}
	if err := envconfig.Parse(&cfg); err != nil {
		envconfig.Fail("fanout dlq-redrive", err)
	}
	var list []string
	for _, r := range strings.Split(*reasons, ",") {
		if r = strings.TrimSpace(r); r != "" {
			list = append(list, r)
		}
	}
	res, err := redrive.Run(&cfg, redrive.Options{Reasons: list, DryRun: *dry})
	fmt.Print(res.String())
	if *dry {
		fmt.Println("dry run: nothing produced, nothing committed")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fanout dlq-redrive:", err)
		return 1
	}
	return 0
}
