// Package rawsock reads and writes sockets with raw, non-blocking system
// calls, outside the Go runtime's system call bookkeeping.
//
// Why: at a node's event rate a process is idle most of the time, and the
// runtime's monitor thread (sysmon) sleeps deeply while every P is idle.
// Each ordinary system call (entersyscall) wakes it, and once awake it
// polls every 20 µs for as long as anything runs. A batch of events cost
// ~25 such wake-ups, more than all the work on the events themselves
// (measured: ~1,800 context switches/s and 40 ms CPU/s in sysmon alone at
// 5,000 events/s). A non-blocking call that cannot block needs no
// bookkeeping; waiting, when a socket has nothing, stays with the runtime's
// network poller (or, for a socket outside it, one ordinary blocking call).
package rawsock

import (
	"io"
	"net"
	"os"
	"syscall"
)

// Conn wraps a connection registered with the runtime's network poller (a
// *net.TCPConn, *net.UnixConn): reads and writes are raw non-blocking calls,
// and only when the socket has nothing to read or no room to write does the
// goroutine park in the poller. Deadlines, Close and addresses are the
// wrapped connection's.
type Conn struct {
	net.Conn
	rc syscall.RawConn
}

// Wrap returns c with raw reads and writes, or c itself if it has no file
// descriptor (or the platform has no raw calls).
func Wrap(c net.Conn) net.Conn {
	if !Supported {
		return c
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	return &Conn{Conn: c, rc: rc}
}

func (c *Conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			n, errno = RecvNoWait(int(fd), b)
			if errno != syscall.EINTR {
				return errno != syscall.EAGAIN
			}
		}
	})
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("recvfrom", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *Conn) Write(b []byte) (int, error) {
	written := 0
	var errno syscall.Errno
	err := c.rc.Write(func(fd uintptr) bool {
		for written < len(b) {
			n, e := SendNoWait(int(fd), b[written:])
			switch e {
			case 0:
				written += n
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // wait in the poller for room
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return written, c.opError("write", err)
	case errno != 0:
		return written, c.opError("write", os.NewSyscallError("sendto", errno))
	}
	return written, nil
}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
