//go:build unix

package source

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// stdinFile returns standard input as a file whose reads a deadline can
// end. A pipe handed to us by the shell is blocking, and a blocked read
// of it outlives Ctrl-C: a non-blocking duplicate goes through Go's poller.
// A terminal is left alone: its mode is shared with the shell.
func stdinFile() *os.File {
	if os.Stdin.SetReadDeadline(time.Time{}) == nil { // already pollable
		return os.Stdin
	}
	st, err := os.Stdin.Stat()
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return os.Stdin
	}
	rc, err := os.Stdin.SyscallConn()
	if err != nil {
		return os.Stdin
	}
	fd := -1
	_ = rc.Control(func(in uintptr) {
		if d, err := unix.Dup(int(in)); err == nil {
			if unix.SetNonblock(d, true) == nil {
				fd = d
			} else {
				unix.Close(d)
			}
		}
	})
	if fd < 0 {
		return os.Stdin
	}
	return os.NewFile(uintptr(fd), os.Stdin.Name())
}
