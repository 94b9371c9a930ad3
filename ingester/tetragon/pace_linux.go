package tetragon

import (
	"syscall"
	"unsafe"
)

// recvNoWait reads what the socket holds (MSG_DONTWAIT) as a raw system
// call: it never blocks, so the runtime need not know about it.
func recvNoWait(fd int, b []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd),
		uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), syscall.MSG_DONTWAIT, 0, 0)
	return int(n), errno
}

// waitReadable blocks until fd is readable, closed or shut down; an
// ordinary system call, so the runtime runs other goroutines meanwhile.
func waitReadable(fd int) error {
	pfd := struct {
		fd             int32
		events, revent int16
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
