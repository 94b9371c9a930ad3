//go:build !linux

package tetragon

import "syscall"

// recvNoWait without Linux's raw calls: a plain blocking read.
func recvNoWait(fd int, b []byte) (int, syscall.Errno) {
	n, err := syscall.Read(fd, b)
	if errno, ok := err.(syscall.Errno); ok {
		return 0, errno
	}
	return n, 0
}

func waitReadable(int) error { return nil }
