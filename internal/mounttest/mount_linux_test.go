//go:build linux

package mounttest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// TestTmpfsStaysInTheChild mounts a tmpfs and a read-only bind in the
// child and looks for them in the host's mount table, which the child can
// read through its parent, still in the host's namespace.
func TestTmpfsStaysInTheChild(t *testing.T) {
	if !Private(t, "mounts a tmpfs in a private mount namespace") {
		return
	}
	dir := Tmpfs(t, "1m")
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != 0x01021994 { // TMPFS_MAGIC
		t.Fatalf("%s: file system type %#x, want tmpfs", dir, st.Type)
	}
	rw := t.TempDir()
	sub := filepath.Join(dir, "rw")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	Bind(t, rw, sub)
	ReadOnly(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o600); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("write to the read-only tmpfs: %v, want read-only", err)
	}
	if err := os.WriteFile(filepath.Join(sub, "f"), nil, 0o600); err != nil {
		t.Errorf("write through the bind made before ReadOnly: %v", err)
	}
	mine, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", os.Getppid()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mine), " "+dir+" ") {
		t.Fatalf("%s is not in the child's own mount table: the test would prove nothing", dir)
	}
	if strings.Contains(string(host), " "+dir+" ") || strings.Contains(string(host), " "+sub+" ") {
		t.Errorf("the host's mount table shows the child's mounts:\n%s", host)
	}
}

// fatalRecorder stands for a test and ends its goroutine at Fatal, as the
// testing package does, keeping the message.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestRefusesOutsideAPrivateNamespace: here, in the host's namespace (the
// test binary's parent is go test), Tmpfs fails before it mounts anything.
func TestRefusesOutsideAPrivateNamespace(t *testing.T) {
	r := &fatalRecorder{TB: t}
	target := t.TempDir()
	done := make(chan struct{})
	go func() {
		defer close(done)
		Mount(r, "tmpfs", target, "tmpfs", 0, "size=1m")
	}()
	<-done
	if !strings.Contains(r.msg, "refusing to mount") {
		t.Errorf("Mount in the host's namespace: %q, want a refusal", r.msg)
	}
}

func TestRunPattern(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"TestFullDisk", "^TestFullDisk$"},
		{"TestX/a_(b)", "^TestX$/^a_\\(b\\)$"},
	} {
		if got := runPattern(tc.name); got != tc.want {
			t.Errorf("runPattern(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
