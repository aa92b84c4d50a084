// Package golden compares test output with files under testdata, and
// rewrites those files when the tests run with -update. Import it only from
// _test.go files: it registers a test flag and has no place in the binary.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// update is the module's one -update flag: `go test ./... -update`
// regenerates every golden file, since every comparison goes through Check.
var update = flag.Bool("update", false, "rewrite the golden files under testdata with what the tests produce")

// Update reports whether the tests run with -update.
func Update() bool { return *update }

// Check compares got with the golden file at path. Under -update it writes
// got to path instead, so that a second run without -update checks that
// the output is stable.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if Update() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update accepts it):\n%s", path, Diff(want, got))
	}
}

// CheckString is Check for text.
func CheckString(t testing.TB, path, got string) {
	t.Helper()
	Check(t, path, []byte(got))
}

// Diff lists the lines that differ, "-" for want and "+" for got, by line
// number (golden files here are line-per-record, so a shifted line is a
// real change worth seeing), up to about 2 kB.
func Diff(want, got []byte) string {
	w, g := lines(want), lines(got)
	var d bytes.Buffer
	for i := 0; i < max(len(w), len(g)) && d.Len() < 2000; i++ {
		wl, gl := line(w, i), line(g, i)
		if wl != gl {
			fmt.Fprintf(&d, "%d:\n-%s\n+%s\n", i+1, wl, gl)
		}
	}
	return d.String()
}

func lines(b []byte) [][]byte {
	ls := bytes.SplitAfter(b, []byte("\n"))
	if len(ls[len(ls)-1]) == 0 {
		ls = ls[:len(ls)-1]
	}
	return ls
}

// line quotes line i, so that a missing line or final newline shows.
func line(lines [][]byte, i int) string {
	if i >= len(lines) {
		return "(none)"
	}
	return fmt.Sprintf("%q", lines[i])
}
