//go:build linux

package source

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// reexec runs test (a -test.run pattern) again in a child process made by
// wrap (for example "unshare --mount"), with env set, and fails t if the
// child fails. The child's output is logged.
func reexec(t *testing.T, test string, env []string, cred *syscall.Credential, wrap ...string) {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if cred != nil { // the build directory is root's alone: copy the binary where others can run it
		dir, err := os.MkdirTemp("", "peerjail-test")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		bin = dir + "/source.test"
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	args := append(wrap, bin, "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	t.Logf("child %s:\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("child did not pass %s", test)
	}
}
