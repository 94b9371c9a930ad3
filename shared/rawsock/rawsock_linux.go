package rawsock

import (
	"syscall"
	"unsafe"
)

// Supported: this platform has the raw calls.
const Supported = true

// RecvNoWait reads what the socket holds (MSG_DONTWAIT): it never blocks,
// so the runtime need not know about it. 0 bytes with errno 0 is the end
// of the stream.
func RecvNoWait(fd int, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd),
		uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), syscall.MSG_DONTWAIT, 0, 0)
	return int(n), errno
}

// SendNoWait writes what the socket has room for (MSG_DONTWAIT), never
// raising SIGPIPE (MSG_NOSIGNAL): a closed peer is an EPIPE error.
func SendNoWait(fd int, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd),
		uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, 0, 0)
	return int(n), errno
}

// WaitReadable blocks until fd is readable, closed or shut down: an
// ordinary system call, so the runtime runs other goroutines meanwhile. For
// descriptors outside the network poller only.
func WaitReadable(fd int) error {
	pfd := struct {
		fd              int32
		events, revents int16
	}{fd: int32(fd), events: 0x1} // POLLIN
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, 0, 0, 0, 0)
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
		default:
			return errno
		}
	}
}
