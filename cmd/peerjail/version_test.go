package main

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// Both spellings print the same line: version, commit, Go version. A test
// binary has no -ldflags and no VCS stamp, so it shows the fallbacks; with
// the variables set (as make build sets them) it shows those.
func TestVersion(t *testing.T) {
	want := regexp.MustCompile(`^peerjail \S+ \(commit \S+, ` + regexp.QuoteMeta(runtime.Version()) + ` \w+/\w+\)\n$`)
	for _, a := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runCLI(t, a...)
		if code != 0 || !want.MatchString(out) {
			t.Errorf("peerjail %s: exit %d, stdout %q, stderr %q; want %s", a[0], code, out, errOut, want)
		}
	}
	if v := actionVersion(); v != "" {
		t.Errorf("a development build hands its actions version %q, want none", v)
	}
	version, commit = "1.2.3-4-gabcdef0", "abcdef0123456789"
	t.Cleanup(func() { version, commit = "", "" })
	if v := actionVersion(); v != version {
		t.Errorf("actions get version %q, want %q", v, version)
	}
	code, out, _ := runCLI(t, "version")
	if wantOut := "peerjail 1.2.3-4-gabcdef0 (commit abcdef0123456789, " + runtime.Version(); code != 0 || !strings.HasPrefix(out, wantOut) {
		t.Errorf("with ldflags: exit %d, %q; want %q...", code, out, wantOut)
	}
	if code, _, errOut := runCLI(t, "version", "extra"); code != 2 {
		t.Errorf("peerjail version extra: exit %d (%s), want 2", code, errOut)
	}
}

// gen-man writes a page for every command an operator can run, hidden ones
// excepted, each with its own NAME line.
func TestGenMan(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man1")
	if code, _, errOut := runCLI(t, "gen-man", dir); code != 0 {
		t.Fatalf("gen-man: exit %d: %s", code, errOut)
	}
	for _, c := range newRootCmd().Commands() {
		if c.Hidden || c.Name() == "help" {
			if _, err := os.Stat(filepath.Join(dir, "peerjail-"+c.Name()+".1")); err == nil {
				t.Errorf("man page for %s, which operators do not see", c.Name())
			}
			continue
		}
		page, err := os.ReadFile(filepath.Join(dir, "peerjail-"+c.Name()+".1"))
		if err != nil {
			t.Errorf("no man page for %s: %v", c.Name(), err)
			continue
		}
		if name := "peerjail-" + c.Name() + " - " + c.Short; !strings.Contains(string(page), name) {
			t.Errorf("peerjail-%s.1 lacks %q", c.Name(), name)
		}
	}
	if code, _, _ := runCLI(t, "gen-man"); code != 2 {
		t.Errorf("gen-man without DIR: exit %d, want 2", code)
	}
}
