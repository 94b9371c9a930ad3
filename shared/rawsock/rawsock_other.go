//go:build !linux

package rawsock

import "syscall"

// Supported: no raw calls here; Wrap returns connections unchanged and the
// functions below are ordinary (blocking) calls.
const Supported = false

func RecvNoWait(fd int, b []byte) (int, syscall.Errno) { return errnoOf(syscall.Read(fd, b)) }

func SendNoWait(fd int, b []byte) (int, syscall.Errno) { return errnoOf(syscall.Write(fd, b)) }

func WaitReadable(int) error { return nil }

func errnoOf(n int, err error) (int, syscall.Errno) {
	if e, ok := err.(syscall.Errno); ok {
		return 0, e
	}
	return n, 0
}
