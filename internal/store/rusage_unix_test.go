//go:build unix

package store

import "syscall"

// cpuTime is the CPU time (user + system, all threads) this process has
// used, in nanoseconds. Benchmarks report it per op next to wall time
// because wall time on a busy machine says more about the neighbours.
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
