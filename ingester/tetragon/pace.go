package tetragon

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/shared/rawsock"
)

// Read pacing: at a node's rate (events ~1 ms apart) Tetragon writes every
// event on its own, and a reader that is always waiting on the socket wakes
// once per event; each wake then ripples through every goroutine between
// gRPC and the Kafka producer. That, not the bytes, was the node stage's
// cost (~6.5 thread wake-ups and ~240 µs CPU per event at 1,000 events/s).
//
// pacedConn lets bytes pile up in the kernel's socket buffer for a moment
// before reading them, so one wake reads a batch of events and everything
// downstream moves in batches. The wait aims at Pacing.BatchBytes per read
// from the measured byte rate and is capped by Pacing.MaxWait (the latency
// it may add). It never limits throughput: the faster the stream, the
// shorter the wait, and a read that filled the buffer is followed by
// another at once. HTTP/2 flow control and Tetragon's per-client buffer see
// a reader that keeps up; only its wake-ups are fewer.

// Pacing configures read pacing. MaxWait 0 turns it off.
type Pacing struct {
	// MaxWait bounds the wait before a read (the latency pacing adds).
	MaxWait time.Duration
	// BatchBytes is what one read aims to collect.
	BatchBytes int
}

// minWait: shorter waits are not worth a timer (the runtime's poller rounds
// sub-millisecond waits up to 1 ms anyway); at that rate reads are large.
const minWait = 500 * time.Microsecond

type pacedConn struct {
	net.Conn // addresses only: reads and writes go to f
	f        *os.File
	raw      syscall.RawConn
	fd       int
	p        Pacing
	// fullAt: a read of this much (half the socket's buffer) means the
	// sender may be waiting on a full socket, so the next read goes at once.
	fullAt int
	// sockBuf is the socket's receive buffer (what a wait can pile up
	// without the sender waiting).
	sockBuf int

	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool

	// Reader goroutine only (gRPC has one reader per connection).
	last time.Time // when the previous Read returned
	rate float64   // bytes per second, smoothed
	full bool      // the previous Read got all it could: more is waiting
	// limit caps the wait; it halves while waits leave the sender with more
	// than the socket holds (a rate the estimate cannot see: a full socket
	// hides it) and grows back to MaxWait otherwise.
	limit time.Duration
	chain int // bytes read since the last read that was not full
	// chainFrom: when the bytes of the current run began to pile up (the
	// end of the previous run), so a run measures the sender's true rate.
	chainFrom time.Time
	// waits and reads count paced waits and reads that returned bytes (tests).
	waits, reads int
}

// newPacedConn moves c's socket out of Go's network poller: Go registers
// sockets edge-triggered, so every arriving event would wake the poller's
// thread even while nobody reads. A blocking descriptor is only looked at
// when read, and a read after a wait finds the events already there.
func newPacedConn(c net.Conn, p Pacing) (*pacedConn, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("%T has no file descriptor", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var dupErr error
	if err := raw.Control(func(s uintptr) { fd, dupErr = syscall.Dup(int(s)) }); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, fmt.Errorf("dup socket: %w", dupErr)
	}
	syscall.CloseOnExec(fd)
	// Closing c unregisters the socket from the poller; the dup keeps it open.
	_ = c.Close()
	if err := syscall.SetNonblock(fd, false); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("blocking socket: %w", err)
	}
	// A blocking descriptor: os.File reads it with plain system calls.
	f := os.NewFile(uintptr(fd), "tetragon")
	fraw, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	sockBuf := 208 << 10 // Linux's default
	if sb, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF); err == nil && sb > 0 {
		sockBuf = sb
	}
	return &pacedConn{Conn: c, f: f, raw: fraw, fd: fd, p: p, fullAt: min(p.BatchBytes, sockBuf/2), sockBuf: sockBuf,
		limit: p.MaxWait, last: time.Now(), full: true}, nil
}

func (c *pacedConn) Read(b []byte) (int, error) {
	if c.chain == 0 {
		c.chainFrom = c.last
	}
	if !c.full {
		if d := c.wait(); d > 0 {
			c.waits++
			time.Sleep(d)
		}
	}
	n, err := c.read(b)
	if n > 0 {
		c.reads++
	}
	now := time.Now()
	c.observe(n, now.Sub(c.last))
	c.last = now
	// A read that filled b or half the socket may have left the sender
	// waiting on a full socket: read again at once. (A wait longer than the
	// socket holds only makes Tetragon's sender wait on its per-client
	// queue; this read drains what it had pending.)
	c.full = n == len(b) || n >= c.fullAt
	c.chain += n
	if !c.full {
		c.adapt(now)
	}
	return n, err
}

// read takes what the socket holds without blocking and without the
// runtime's system call bookkeeping (which wakes its monitor thread on
// every call while the process idles); only an empty socket waits in the
// kernel, as an ordinary system call. The descriptor stays locked by the
// os.File meanwhile, so Close cannot free it under the read.
func (c *pacedConn) read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			m, errno := rawsock.RecvNoWait(int(fd), b)
			switch errno {
			case 0:
				n = m
				if m == 0 {
					rerr = io.EOF
				}
				return true
			case syscall.EINTR:
			case syscall.EAGAIN:
				if werr := rawsock.WaitReadable(int(fd)); werr != nil {
					rerr = werr
					return true
				}
			default:
				rerr = errno
				return true
			}
		}
	})
	if err != nil {
		if c.closed.Load() {
			return 0, net.ErrClosed
		}
		return 0, err
	}
	return n, rerr
}

// Write sends without the runtime's bookkeeping when the socket has room
// (it nearly always has: gRPC writes only the request, pings and window
// updates), else as an ordinary blocking write.
func (c *pacedConn) Write(b []byte) (int, error) {
	written := 0
	err := c.raw.Write(func(fd uintptr) bool {
		for written < len(b) {
			n, errno := rawsock.SendNoWait(int(fd), b[written:])
			if errno == syscall.EINTR {
				continue
			}
			if errno != 0 {
				return true
			}
			written += n
		}
		return true
	})
	if err != nil {
		return written, err
	}
	if written < len(b) {
		n, err := c.f.Write(b[written:])
		return written + n, err
	}
	return written, nil
}

// Close shuts the socket down first: that ends a read blocked in the kernel,
// which would otherwise hold the descriptor open.
func (c *pacedConn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		_ = syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
		c.closeErr = c.f.Close()
	})
	return c.closeErr
}

// Deadlines are not supported on a blocking socket; gRPC sets them only
// around Close (which ends a blocked read by itself) and the TLS handshake
// ends on its context by closing the connection.
func (c *pacedConn) SetDeadline(time.Time) error      { return nil }
func (c *pacedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pacedConn) SetWriteDeadline(time.Time) error { return nil }

// adapt adjusts the wait cap after a run of reads that ended caught up.
// More than twice the socket's buffer in one run means the sender had a
// backlog beyond what the socket held: the waits are too long for this
// rate, however low the rate looked (a full socket caps what a wait
// collects). The cap halves, and the run itself measures the true rate
// (its bytes over the time they took to arrive), so it drops at once to
// no more than a wait that collects BatchBytes at that rate: a burst after
// an idle spell must not outgrow Tetragon's per-client queue while waits
// shrink step by step.
// At full speed the cap is 0, so pacing never caps throughput.
func (c *pacedConn) adapt(now time.Time) {
	switch {
	case c.chain >= 2*c.sockBuf:
		if secs := now.Sub(c.chainFrom).Seconds(); secs > 0 {
			rate := float64(c.chain) / secs
			c.rate = max(c.rate, rate)
			c.limit = min(c.limit/2, time.Duration(float64(c.p.BatchBytes)/rate*float64(time.Second)))
		} else {
			c.limit /= 2
		}
		if c.limit < minWait {
			c.limit = 0
		}
	case c.limit < c.p.MaxWait:
		c.limit = min(max(2*c.limit, 2*minWait), c.p.MaxWait)
	}
	c.chain = 0
}

// wait is how long to let bytes accumulate before the next read: the time
// BatchBytes takes at the current rate, at most MaxWait, measured from the
// previous read.
func (c *pacedConn) wait() time.Duration {
	d := c.limit
	if c.rate > 0 {
		if t := time.Duration(float64(c.p.BatchBytes) / c.rate * float64(time.Second)); t < d {
			d = t
		}
	}
	d -= time.Since(c.last)
	if d < minWait {
		return 0
	}
	return d
}

// observe folds a read of n bytes over dt into the smoothed rate, weighted
// by time so a long idle gap counts for what it is.
func (c *pacedConn) observe(n int, dt time.Duration) {
	if dt <= 0 {
		dt = time.Microsecond
	}
	r := float64(n) / dt.Seconds()
	// The weight of the new sample grows with the time it covers: a window
	// of about four MaxWaits.
	w := dt.Seconds() / (4 * c.p.MaxWait.Seconds())
	if w > 1 {
		w = 1
	}
	c.rate += (r - c.rate) * w
}

// pacedDialer dials Tetragon itself so the connection can be paced. gRPC
// hands a custom dialer "unix:///path" (or "unix:path") for unix targets
// and host:port for TCP ones.
func pacedDialer(p Pacing) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		network := "tcp"
		if rest, ok := strings.CutPrefix(addr, "unix:"); ok {
			network, addr = "unix", rest
			if path, ok := strings.CutPrefix(rest, "//"); ok {
				addr = path
			}
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		pc, err := newPacedConn(conn, p)
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("pace %s connection: %w", network, err)
		}
		return pc, nil
	}
}
