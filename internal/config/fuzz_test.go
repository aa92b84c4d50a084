package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/filter"
)

// FuzzParse checks that no input panics or hangs Parse, that every problem
// it reports is a located ErrInvalid, and that what it accepts is usable.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/good/*.yaml", "testdata/bad/*.yaml", "../../configs/*.yaml"} {
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
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("p.yaml", data, LoadOptions{SourcesOptional: len(data)%2 == 0})
		if err != nil {
			checkErrors(t, err)
			return
		}
		checkConfig(t, c)
	})
}

func checkErrors(t *testing.T, err error) {
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
		if !errors.As(e, &ce) || !strings.HasPrefix(e.Error(), "p.yaml") {
			t.Fatalf("error %q is not a located config error", e)
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
		if !jailName.MatchString(j.Name) || p.Name != j.Name || j.FilterName == "" ||
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
		if _, err := filter.New(j.Filter); err != nil {
			t.Fatalf("jail %s: accepted filter does not compile: %v", j.Name, err)
		}
	}
}
