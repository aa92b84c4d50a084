package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder stands in for a test, to see what Check reports.
type recorder struct {
	testing.TB
	errors, fatals []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) {
	r.fatals = append(r.fatals, fmt.Sprint(args...))
	runtime.Goexit()
}

// check runs Check on its own goroutine, since a fatal report ends it.
func (r *recorder) check(path string, got []byte) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		Check(r, path, got)
	}()
	<-done
}

func TestCheck(t *testing.T) {
	if Update() {
		t.Skip("-update rewrites instead of comparing")
	}
	path := filepath.Join(t.TempDir(), "out.golden")
	if err := os.WriteFile(path, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, got string
		errs, fatals    int
		diff            string
	}{
		{"same", path, "a\nb\nc\n", 0, 0, ""},
		{"one line differs", path, "a\nB\nc\n", 1, 0, "2:\n-\"b\\n\"\n+\"B\\n\"\n"},
		{"missing newline", path, "a\nb\nc", 1, 0, "3:\n-\"c\\n\"\n+\"c\"\n"},
		{"no golden file", path + ".missing", "a\n", 0, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			r.check(tt.path, []byte(tt.got))
			if len(r.errors) != tt.errs || len(r.fatals) != tt.fatals {
				t.Fatalf("errors %q, fatals %q; want %d and %d", r.errors, r.fatals, tt.errs, tt.fatals)
			}
			if tt.diff != "" && !strings.HasSuffix(r.errors[0], "\n"+tt.diff) {
				t.Errorf("report %q does not end in the diff %q", r.errors[0], tt.diff)
			}
		})
	}
}

// Under -update, Check writes what it got, creating the directory, and a
// check of the same output then passes.
func TestUpdateWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "out.golden")
	old := *update
	*update = true
	Check(t, path, []byte("x\n"))
	*update = old
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "x\n" {
		t.Fatalf("wrote %q, %v; want %q", b, err, "x\n")
	}
	r := &recorder{TB: t}
	*update = false
	r.check(path, []byte("x\n"))
	*update = old
	if len(r.errors)+len(r.fatals) != 0 {
		t.Errorf("the written file does not check: %q %q", r.errors, r.fatals)
	}
}
