package deploycheck_test

import (
	"os"
	"strings"
	"testing"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// TestTopicsPerType: the default output topics in kafka-topics/topics.yaml
// are one block per type of the eventtype table, each the process_exec
// block with the name replaced. Regenerate after adding a type:
// cd shared && go test ./deploycheck -run TestTopicsPerType -update
func TestTopicsPerType(t *testing.T) {
	path := repoPath("deployments", "k8s", "kafka-topics", "topics.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	const execName = "  name: tetragon.process-exec\n"
	i := strings.Index(s, execName)
	start := strings.LastIndex(s[:max(i, 0)], "apiVersion:")
	if i < 0 || start < 0 {
		t.Fatal("topics.yaml: no KafkaTopic block for process_exec")
	}
	tail := s[start:]
	end := strings.Index(tail, "\n---\n")
	if end < 0 {
		end = len(tail) - 1
	}
	execBlock := tail[:end+1]
	var blocks []string
	for _, typ := range eventtype.All() {
		b := strings.ReplaceAll(execBlock, "tetragon.process_exec", "tetragon."+typ)
		b = strings.ReplaceAll(b, "tetragon.process-exec", "tetragon."+strings.ReplaceAll(typ, "_", "-"))
		blocks = append(blocks, b)
	}
	want := strings.Join(blocks, "---\n")
	if tail == want {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(s[:start]+want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("topics.yaml's per-type topics do not follow the eventtype table; regenerate: cd shared && go test ./deploycheck -run TestTopicsPerType -update")
}
