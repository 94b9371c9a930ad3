//go:build faults

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkatest"
)

var (
	injectOnce sync.Once
	injectErr  error
)

// faultInjectFanout returns a fanout binary built with the faultinject tag
// from this checkout (whatever E2E_BIN_DIR says: release builds lack the
// hooks it honours, see fanout/cmd/fanout/testbuild_faultinject.go). Built
// once per test run; go's build cache recompiles only the main package.
func faultInjectFanout(t *testing.T) string {
	t.Helper()
	root := kafkatest.RepoRoot(t)
	injectOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tetragon-fanout-e2e-faultinject")
		if err != nil {
			injectErr = err
			return
		}
		injectBin = filepath.Join(dir, "fanout")
		cmd := exec.Command("go", "build", "-tags", "faultinject", "-o", injectBin, "./fanout/cmd/fanout")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			injectErr = fmt.Errorf("go build -tags faultinject ./fanout/cmd/fanout: %v\n%s", err, out)
		}
	})
	if injectErr != nil {
		t.Fatal(injectErr)
	}
	return injectBin
}
