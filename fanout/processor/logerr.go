package processor

import (
	"fmt"
	"strings"
)

// maxLoggedError bounds an error in a log line. goka joins the errors of
// every partition and retry into one multierror ("N errors occurred:" and
// one "* ..." line each, nested): with the broker gone one line carried 184
// of them, over 30 KB.
const maxLoggedError = 768

// errSummary is what a log line carries of err: the first error, how many
// there were in all, bounded to maxLoggedError bytes.
func errSummary(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	var first string
	n := 0
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "* ") {
			continue
		}
		n++
		item := strings.TrimSpace(strings.TrimPrefix(line, "* "))
		// a nested multierror's own "* k errors occurred:" line is not an
		// error of its own: its items are counted below it
		if strings.HasSuffix(item, "errors occurred:") || strings.HasSuffix(item, "error occurred:") {
			n--
			continue
		}
		if first == "" {
			first = item
		}
	}
	if first == "" {
		first = strings.Join(strings.Fields(s), " ")
	}
	if len(first) > maxLoggedError {
		first = first[:maxLoggedError] + "..."
	}
	if n > 1 {
		return fmt.Sprintf("%s (and %d more errors)", first, n-1)
	}
	return first
}
