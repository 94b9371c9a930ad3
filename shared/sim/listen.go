package sim

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"
)

// ValidateAddr checks the form of a listen address without binding it.
func ValidateAddr(addr string) error {
	if path, ok := strings.CutPrefix(addr, "unix://"); ok {
		if path == "" {
			return fmt.Errorf("%q: empty socket path", addr)
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%q: want unix:///path or host:port: %w", addr, err)
	}
	return nil
}

// Listen binds addr: "unix:///path/to.sock" (a stale socket file left by a
// dead process is removed; a live one is an error) or "host:port".
func Listen(addr string) (net.Listener, error) {
	if err := ValidateAddr(addr); err != nil {
		return nil, fmt.Errorf("listen %w", err)
	}
	if path, ok := strings.CutPrefix(addr, "unix://"); ok {
		if err := removeStaleSocket(path); err != nil {
			return nil, fmt.Errorf("listen %q: %w", addr, err)
		}
		l, err := net.Listen("unix", path)
		if err != nil {
			return nil, fmt.Errorf("listen %q: %w", addr, err)
		}
		return l, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %q: %w", addr, err)
	}
	return l, nil
}

func removeStaleSocket(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return fmt.Errorf("%s: another server is listening", path)
	}
	return os.Remove(path)
}

// target turns a listener address into a gRPC dial target.
func target(a net.Addr) string {
	if a.Network() == "unix" {
		return "unix://" + a.String()
	}
	return a.String()
}
