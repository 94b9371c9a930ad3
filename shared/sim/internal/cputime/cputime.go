// Package cputime reads the process's CPU time, so benchmarks on a shared,
// busy machine can report work per CPU-second next to wall-clock ns/op,
// which other processes' load inflates.
package cputime

import (
	"syscall"
	"time"
)

// Now returns user+system CPU time consumed by this process so far.
func Now() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
