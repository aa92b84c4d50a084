package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/jail"
)

// FuzzParse checks that no input panics or hangs Parse, that every problem
// it reports is a located ErrInvalid, and that what it accepts is usable.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/good/*.yaml", "testdata/bad/*.yaml", "../../configs/*.yaml", "../../configs/examples/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("jails: {a: {filter: sshd, source: {files: /x}, ports: ['1-2'], ignoreip: ['::1']}}"))
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("self_ids: [12D3KooWx, 1.2.3.4]\ncorrelation_ttl: 0s\ncorrelation_max: 5\njails: {a: {filter: flow-suspicious, key: id, source: {files: /x}}}"))
	f.Add([]byte("filters: {f: {regex: {fail: ['x <ID>'], learn: ['<HOST> <ID>'], self: ['^me <ID>$']}}, g: {json: {match: {a: 1}, id: p, learn: {h: {exists: true}}, self_id: n}}}\njails: {a: {filter: f, key: id, source: {files: /x}}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// No files to include: a fuzzed glob must not read the disk.
		c, err := parse("p.yaml", ".", data, LoadOptions{SourcesOptional: len(data)%2 == 0}, memFS{})
		if err != nil {
			checkErrors(t, err, "p.yaml")
			return
		}
		checkConfig(t, c)
	})
}

// FuzzInclude fuzzes a main file and one of the two files in its jails.d:
// whatever they say, every problem is located in one of the three files,
// and an accepted config has each jail once and each included file once.
func FuzzInclude(f *testing.F) {
	const good = "filters:\n  theirs: {regex: {fail: ['Bad token from <HOST>']}}\njails:\n  b: {filter: theirs, source: {files: b.log}}\n"
	for _, seed := range [][2]string{
		{"include: [jails.d/*.yaml]\njails: {ssh: {filter: sshd, source: {files: /x}}}\n",
			"jails: {ipfs: {filter: libp2p-peer-status, source: {journal: {match: [_SYSTEMD_UNIT=ipfs.service]}}}}\n"},
		{"defaults: {maxretry: 2}\ninclude: [jails.d/b.yaml, 'jails.d/*', /etc/x/*.yaml, '*.yaml', 'jails.d/[']\n",
			"defaults: {maxretry: 3}\ninclude: [a.yaml]\njails: {b: {filter: sshd}}\n"},
		{"include: jails.d/a.yaml\nfilters: {theirs: {regex: {fail: ['<HOST>']}}}\njails:\n",
			"jails:\n  a: &a {filter: theirs, source: {files: [../a.log]}}\n  c: *a\n"},
		{"include: ['../etc/jails.d/./a.yaml', jails.d/a.yaml, jails.d/../jails.d/a.yaml]\n", "jails: {}\n---\n"},
	} {
		f.Add([]byte(seed[0]), []byte(seed[1]))
	}
	f.Fuzz(func(t *testing.T, main, inc []byte) {
		fsys := memFS{"etc/peerjail.yaml": string(main), "etc/jails.d/a.yaml": string(inc), "etc/jails.d/b.yaml": good}
		c, err := parse("etc/peerjail.yaml", "etc", main, LoadOptions{SourcesOptional: len(main)%2 == 0}, fsys)
		if err != nil {
			checkErrors(t, err, "etc/peerjail.yaml", "etc/jails.d/a.yaml", "etc/jails.d/b.yaml")
			return
		}
		checkConfig(t, c)
		names := map[string]bool{}
		for _, j := range c.Jails {
			if names[j.Name] {
				t.Fatalf("jail %s accepted twice", j.Name)
			}
			names[j.Name] = true
		}
		read := map[string]bool{}
		for _, inc := range c.Includes {
			if _, ok := fsys[inc.Path]; !ok || inc.Path == c.Path || read[inc.Path] {
				t.Fatalf("included %q (of %+v)", inc.Path, c.Includes)
			}
			read[inc.Path] = true
		}
	})
}

// memFS holds the files to include in memory, by clean relative path.
type memFS map[string]string

func (m memFS) glob(pattern string) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	var out []string
	for name := range m {
		if ok, _ := filepath.Match(pattern, name); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (m memFS) read(path string, limit int) ([]byte, error) {
	data, ok := m[filepath.Clean(path)]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(data[:min(len(data), limit)]), nil
}

func (m memFS) same(a, b string) bool { return filepath.Clean(a) == filepath.Clean(b) }

func checkErrors(t *testing.T, err error, files ...string) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error does not wrap ErrInvalid: %v", err)
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var ce *Error
		if !errors.As(e, &ce) || !slices.Contains(files, ce.File) || !strings.HasPrefix(e.Error(), ce.File+":") {
			t.Fatalf("error %q is not a located config error in one of %q", e, files)
		}
	}
}

func checkConfig(t *testing.T, c *Config) {
	t.Helper()
	lines := c.Summary()
	if len(lines) != len(c.Jails) {
		t.Fatalf("%d summary lines for %d jails", len(lines), len(c.Jails))
	}
	for _, j := range c.Jails {
		p := j.Policy
		if !jailName.MatchString(j.Name) || p.Name != j.Name || (j.FilterName == "") != (j.Recidive != nil) ||
			p.FindTime <= 0 || p.BanTime <= 0 || p.MaxRetry < 1 || p.IPv6Prefix < 1 || p.IPv6Prefix > 128 ||
			p.MaxHosts < 1 || (p.Increment.Factor != 0 && p.Increment.Factor < 1) {
			t.Fatalf("accepted a jail that breaks the contract: %+v", j)
		}
		if len(j.Files) > 0 && len(j.Journal) > 0 {
			t.Fatalf("jail %s has two sources", j.Name)
		}
		for _, r := range j.Ports {
			if r.From < 1 || r.From > r.To {
				t.Fatalf("jail %s: port range %v", j.Name, r)
			}
		}
		for _, pre := range p.IgnoreIP {
			if !pre.IsValid() || pre != pre.Masked() {
				t.Fatalf("jail %s: ignoreip %v", j.Name, pre)
			}
		}
		if _, err := jail.NewCounter(p); err != nil {
			t.Fatalf("jail %s: accepted policy is refused: %v", j.Name, err)
		}
		if j.Recidive != nil {
			if len(j.Files)+len(j.Journal)+len(j.Ports) > 0 || len(p.Escalation.Steps) > 0 {
				t.Fatalf("recidive jail %s has sources, ports or an escalation: %+v", j.Name, j)
			}
			continue
		}
		if _, err := filter.New(j.Filter); err != nil {
			t.Fatalf("jail %s: accepted filter does not compile: %v", j.Name, err)
		}
	}
}
