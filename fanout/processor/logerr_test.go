package processor

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestErrSummaryBoundsGokaMultierrors: a multierror of 184 nested errors
// logs as its first error and a count, under 1 KB.
func TestErrSummaryBoundsGokaMultierrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("error running processor: 2 errors occurred:\n\t* 92 errors occurred:\n")
	for i := range 184 {
		if i == 92 {
			b.WriteString("\t* 92 errors occurred:\n")
		}
		fmt.Fprintf(&b, "\t\t* kafka: client has run out of available brokers to talk to: dial tcp 127.0.0.1:9092: connect: connection refused (partition %d)\n", i)
	}
	got := errSummary(errors.New(b.String()))
	if len(got) >= 1024 {
		t.Fatalf("summary is %d bytes", len(got))
	}
	if !strings.HasPrefix(got, "kafka: client has run out of available brokers") || !strings.Contains(got, "(and 183 more errors)") {
		t.Fatalf("summary %q, want the first error and the count of the other 183", got)
	}
	if got := errSummary(errors.New(strings.Repeat("x", 5000))); len(got) > maxLoggedError+3 {
		t.Fatalf("a single long error logs %d bytes", len(got))
	}
	if got := errSummary(errors.New("plain")); got != "plain" {
		t.Fatalf("summary %q", got)
	}
}
