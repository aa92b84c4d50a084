//go:build unix

package execaction

import (
	"os/exec"
	"syscall"
)

const supported = true

// ownGroup puts the program in a process group of its own and makes the
// timeout kill that whole group, so that what the program started (a
// shell script's children) dies with it.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
