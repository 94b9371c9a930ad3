package sim

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// ValidateAddr checks the form of a listen address without binding it:
// unix:///path, or host:port with a port net.Listen can bind (0..65535 or a
// service name), so a typo is a usage error before anything starts.
func ValidateAddr(addr string) error {
	if path, ok := strings.CutPrefix(addr, "unix://"); ok {
		if path == "" {
			return fmt.Errorf("%q: empty socket path", addr)
		}
		return nil
	}
	if err := ValidateHostPort(addr); err != nil {
		return fmt.Errorf("%w (want unix:///path or host:port)", err)
	}
	return nil
}

// ValidateHostPort checks a TCP listen address (host:port, host may be
// empty) without binding it.
func ValidateHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		// net's message already quotes the address.
		return err
	}
	if n, err := strconv.ParseUint(port, 10, 64); err == nil {
		if n > 65535 {
			return fmt.Errorf("%q: port %d is out of range 0..65535", addr, n)
		}
		return nil
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("%q: port %q is neither a number nor a known service", addr, port)
	}
	return nil
}

// Listen binds addr: "unix:///path/to.sock" (a stale socket file left by a
// dead process is removed; a live one is an error) or "host:port".
func Listen(addr string) (net.Listener, error) {
	// net.Listen's errors already read "listen tcp ADDR: ...": returned
	// as they are, so the message does not say "listen" twice.
	if err := ValidateAddr(addr); err != nil {
		return nil, err
	}
	if path, ok := strings.CutPrefix(addr, "unix://"); ok {
		if err := removeStaleSocket(path); err != nil {
			return nil, fmt.Errorf("listen unix %s: %w", path, err)
		}
		return net.Listen("unix", path)
	}
	return net.Listen("tcp", addr)
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
		return errors.New("exists and is not a socket")
	}
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return errors.New("another server is listening on it")
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
