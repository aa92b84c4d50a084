package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/peerjail/peerjail/internal/golden"
)

// TestIncludeGolden loads testdata/include/NAME/peerjail.yaml and compares
// what `peerjail check` would print (the include lines, then the jails) or
// every problem, in file order, with NAME.golden. Regenerate with -update.
func TestIncludeGolden(t *testing.T) {
	mains, _ := filepath.Glob("testdata/include/*/peerjail.yaml")
	if len(mains) == 0 {
		t.Fatal("no testdata/include/*/peerjail.yaml")
	}
	for _, main := range mains {
		dir := filepath.Dir(main)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c, err := Load(main, LoadOptions{})
			var got string
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("%v does not match ErrInvalid", err)
				}
				got = err.Error() + "\n"
			} else {
				got = strings.Join(append(c.IncludeSummary(), c.Summary()...), "\n") + "\n"
			}
			golden.CheckString(t, dir+".golden", got)
		})
	}
}

// Included jails inherit the main file's defaults, the filters of every
// file are seen by the jails of every file, and the order is the main
// file's jails, then each included file's in sorted order.
func TestIncludeMerges(t *testing.T) {
	c, err := Load("testdata/include/basic/peerjail.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range c.Jails {
		names = append(names, j.Name)
		if j.Policy.MaxRetry != 3 {
			t.Errorf("jail %s: maxretry %d, want the main file's default 3", j.Name, j.Policy.MaxRetry)
		}
	}
	if want := []string{"ssh", "uses-theirs", "ipfs", "mine"}; !slices.Equal(names, want) {
		t.Errorf("jails %q, want %q", names, want)
	}
	if c.Jails[2].Policy.FindTime.String() != "3m0s" {
		t.Errorf("ipfs findtime %v: its own value must win over the defaults", c.Jails[2].Policy.FindTime)
	}
	if c.Jails[1].Filter.JSON == nil || c.Jails[3].Filter.Regex == nil {
		t.Error("a jail did not get the filter defined in the other file")
	}
	want := []Include{
		{Path: "testdata/include/basic/jails.d/10-ipfs.yaml", Jails: []string{"ipfs"}},
		{Path: "testdata/include/basic/jails.d/20-theirs.yaml", Jails: []string{"mine", "off"}, Filters: []string{"theirs"}},
		{Path: "testdata/include/basic/jails.d/30-empty.yaml"},
	}
	if !reflect.DeepEqual(c.Includes, want) {
		t.Errorf("includes %+v\nwant %+v", c.Includes, want)
	}
}

// writeFiles creates files (path → content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Relative source globs in an included file are taken from its own
// directory (absolute after Load), like include: globs from the main file's.
func TestIncludeRelativeSources(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"etc/peerjail.yaml":  "include: [jails.d/*.yaml]\njails: {a: {filter: sshd, source: {files: a.log}}}\n",
		"etc/jails.d/b.yaml": "jails: {b: {filter: sshd, source: {files: [b.log, ../c.log, /abs.log]}}}\n",
	})
	t.Chdir(dir)
	c, err := Load("etc/peerjail.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Jails[0].Files, []string{filepath.Join(dir, "etc/a.log")}; !slices.Equal(got, want) {
		t.Errorf("main jail: files %q, want %q", got, want)
	}
	want := []string{filepath.Join(dir, "etc/jails.d/b.log"), filepath.Join(dir, "etc/c.log"), "/abs.log"}
	if got := c.Jails[1].Files; !slices.Equal(got, want) {
		t.Errorf("included jail: files %q, want %q", got, want)
	}
	if c.Includes[0].Path != "etc/jails.d/b.yaml" {
		t.Errorf("include path %q, want it as matched from the path given", c.Includes[0].Path)
	}
	// A file matched by a relative and an absolute glob is read once.
	os.WriteFile("etc/peerjail.yaml", []byte("include: [jails.d/*.yaml, "+filepath.Join(dir, "etc/jails.d/b.yaml")+", jails.d/b.yaml]\n"), 0o644)
	c, err = Load("etc/peerjail.yaml", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Includes) != 1 || len(c.Jails) != 1 {
		t.Errorf("includes %+v, jails %v: want b.yaml read once", c.Includes, c.Summary())
	}
}

// TestIncludeHostile puts in jails.d what a mistake or an attacker could:
// each case ends in the error shown, promptly, never in a panic, a hang or
// a read of a device.
func TestIncludeHostile(t *testing.T) {
	// About 790,000 nodes: under the limit alone, over it twice.
	laughs := "x:\n  - &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'e'; i++ {
		prev := string(i - 1)
		laughs += "  - &" + string(i) + " [*" + prev + strings.Repeat(", *"+prev, 9) + "]\n"
	}
	laughs += "  - [*e, *e, *e, *e, *e, *e]\n"
	const main = "include: [jails.d/*]\njails: {ssh: {filter: sshd, source: {files: /x}}}\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		setup func(t *testing.T, dir string)
		want  string
		io    bool // an I/O error, not ErrInvalid
	}{
		{name: "binary", files: map[string]string{"jails.d/a": "jails:\n  \x00\x01"},
			want: "etc/jails.d/a:2:3: control character U+0000 is not allowed; is this really a config?"},
		{name: "too large", files: map[string]string{"jails.d/a": strings.Repeat("# padding\n", 500_000)},
			want: "etc/jails.d/a: with the files read before it, the config is larger than 4 MiB; is this really a config?"},
		{name: "too large together", files: map[string]string{
			"jails.d/a": strings.Repeat("# padding\n", 250_000), "jails.d/b": strings.Repeat("# padding\n", 250_000)},
			want: "etc/jails.d/b: with the files read before it, the config is larger than 4 MiB; is this really a config?"},
		{name: "laughs together", files: map[string]string{"jails.d/a": laughs, "jails.d/b": laughs},
			want: "etc/jails.d/a:1:1: x: unknown key (known keys: filters, jails)\n" +
				"etc/jails.d/b: with the files read before it, the config has more than 1048576 nodes once aliases are expanded"},
		{name: "fifo", setup: func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "etc/jails.d/pipe"), 0o644); err != nil {
				t.Skip("no FIFO here:", err)
			}
		}, want: "etc/peerjail.yaml:1:11: include[0]: etc/jails.d/pipe is not a regular file; include names files (e.g. /etc/peerjail/jails.d/*.yaml)"},
		{name: "dangling symlink", setup: func(t *testing.T, dir string) {
			os.Symlink("gone.yaml", filepath.Join(dir, "etc/jails.d/a.yaml"))
		}, io: true,
			want: "etc/peerjail.yaml:1:11: include[0]: read config: stat etc/jails.d/a.yaml: no such file or directory"},
		{name: "link to the main file", setup: func(t *testing.T, dir string) {
			os.Symlink("../peerjail.yaml", filepath.Join(dir, "etc/jails.d/a.yaml"))
		}, want: `etc/peerjail.yaml:1:11: include[0]: "jails.d/*" matches this file itself; keep included files in a directory of their own (e.g. /etc/peerjail/jails.d/*.yaml)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"etc/peerjail.yaml": main})
			os.MkdirAll(filepath.Join(dir, "etc/jails.d"), 0o755)
			writeFiles(t, filepath.Join(dir, "etc"), tc.files)
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			t.Chdir(dir)
			_, err := Load("etc/peerjail.yaml", LoadOptions{})
			if err == nil {
				t.Fatal("loaded")
			}
			if errors.Is(err, ErrInvalid) == tc.io {
				t.Errorf("errors.Is(err, ErrInvalid) = %v, want %v: %v", !tc.io, tc.io, err)
			}
			if err.Error() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", err, tc.want)
			}
		})
	}
}

// A jails.d that is a file is a broken system, said as such; one that does
// not exist is an empty one.
func TestIncludeDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"peerjail.yaml": "include: [jails.d/*.yaml]\njails: {ssh: {filter: sshd, source: {files: /x}}}\n",
	})
	c, err := Load(filepath.Join(dir, "peerjail.yaml"), LoadOptions{})
	if err != nil || len(c.Includes) != 0 {
		t.Fatalf("no jails.d: %v, %+v", err, c)
	}
	writeFiles(t, dir, map[string]string{"jails.d": "not a directory\n"})
	_, err = Load(filepath.Join(dir, "peerjail.yaml"), LoadOptions{})
	if err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("jails.d is a file: %v, want ENOTDIR, not ErrInvalid", err)
	}
}

// BenchmarkLoadIncludes loads a main file with 100 drop-ins of one jail
// each: the cost of a reload of a well-filled jails.d.
func BenchmarkLoadIncludes(b *testing.B) {
	dir := b.TempDir()
	files := map[string]string{"peerjail.yaml": "defaults: {maxretry: 3}\ninclude: [jails.d/*.yaml]\n"}
	for i := range 100 {
		files[fmt.Sprintf("jails.d/%03d.yaml", i)] = fmt.Sprintf("jails:\n  j%03d:\n    filter: sshd\n    source: {files: [/var/log/j%03d.log]}\n", i, i)
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := Load(filepath.Join(dir, "peerjail.yaml"), LoadOptions{})
		if err != nil || len(c.Jails) != 100 {
			b.Fatal(err)
		}
	}
}
