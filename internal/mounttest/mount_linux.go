//go:build linux

package mounttest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// childEnv names the test that a child process was started to run: only
// that test takes the child's side of Private.
const childEnv = "PEERJAIL_MOUNTTEST_CHILD"

// Private runs the calling test again in a child process in a mount
// namespace of its own, and reports which side the caller is on. In the
// parent it returns false once the child has passed (it fails t if the
// child fails; the child's output is logged), and the test should return.
// In the child it returns true once sure that the namespace is not its
// parent's, and the test goes on to mount. Without root or unshare the
// test is skipped with "needs root: " and why.
func Private(t *testing.T, why string) (child bool) {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		requirePrivate(t)
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: " + why)
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", bin, "-test.run="+runPattern(t.Name()), "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	// The child must not outlive a parent killed by go test's timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child: %v", err)
	}
	return false
}

// runPattern is the -test.run pattern that selects exactly the test name,
// a subtest's path included.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// requirePrivate fails t unless this process is in a mount namespace other
// than its parent's: the parent is the test binary that Private ran
// unshare from, in the host's namespace.
func requirePrivate(t testing.TB) {
	t.Helper()
	self, err1 := os.Readlink("/proc/self/ns/mnt")
	parent, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", os.Getppid()))
	if err1 != nil || err2 != nil || self == parent {
		t.Fatalf("not in a mount namespace of its own (%s, parent %s): refusing to mount", self, parent)
	}
}

// Mount is mount(2) of src on target, undone (lazily, MNT_DETACH) when the
// test ends; a remount changes a mount that is already undone, so it adds
// nothing to undo. It fails t outside a namespace of the test's own.
func Mount(t testing.TB, src, target, fstype string, flags uintptr, data string) {
	t.Helper()
	requirePrivate(t)
	if err := syscall.Mount(src, target, fstype, flags, data); err != nil {
		t.Fatalf("mount %s on %s: %v", src, target, err)
	}
	if flags&syscall.MS_REMOUNT != 0 {
		return
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(target, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", target, err)
		}
	})
}

// Tmpfs mounts a tmpfs of size (mount's size= option: "8m") on a new
// temporary directory and returns the directory.
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	Mount(t, "tmpfs", dir, "tmpfs", 0, "size="+size)
	return dir
}

// Bind mounts src (a file or a directory) on target, which must exist.
func Bind(t testing.TB, src, target string) {
	t.Helper()
	Mount(t, src, target, "", syscall.MS_BIND, "")
}

// ReadOnly makes the mount at dir read-only; its bind mounts made later
// stay writable.
func ReadOnly(t testing.TB, dir string) {
	t.Helper()
	Mount(t, "", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
}

// Fill writes path until its file system is full (ENOSPC), so that a test
// can see what fails on a full disk and free the space by removing path.
func Fill(t testing.TB, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}
