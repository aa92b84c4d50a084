package config

import (
	"bytes"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/golden"
)

// TestWriteYAMLRoundTrip: what `peerjail config` prints loads to the same
// configuration, for every good test config, the shipped ones and one
// with include:.
func TestWriteYAMLRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.yaml")
	examples, _ := filepath.Glob("../../configs/examples/*.yaml")
	files = append(files, examples...)
	files = append(files, "../../configs/peerjail.yaml", "../../configs/default.yaml", "testdata/include/basic/peerjail.yaml")
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			c, err := Load(f, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := c.WriteYAML(&buf); err != nil {
				t.Fatal(err)
			}
			back, err := Parse("printed.yaml", buf.Bytes(), LoadOptions{})
			if err != nil {
				t.Fatalf("the printed config does not load: %v\n%s", err, buf.String())
			}
			c.Path, back.Path, c.Includes = "", "", nil
			noEmpty(c)
			noEmpty(back)
			if !reflect.DeepEqual(c, back) {
				t.Errorf("the printed config loads differently:\n%s\nloaded %+v\nprinted %+v", buf.String(), c.Jails, back.Jails)
			}
		})
	}
}

// noEmpty makes empty lists nil: `ports: []` reads as an empty list,
// the default as none, and both mean the same.
func noEmpty(c *Config) {
	// Where things are written differs between the file and the printout.
	if c.Fleet != nil {
		f := *c.Fleet
		f.Pos = ""
		c.Fleet = &f
	}
	for i := range c.Jails {
		j := &c.Jails[i]
		j.Actions = slices.Clone(j.Actions)
		for k := range j.Actions {
			j.Actions[k].Pos = ""
			if len(j.Actions[k].Headers) == 0 {
				j.Actions[k].Headers = nil
			}
		}
		if j.Fleet != nil {
			f := *j.Fleet
			f.at, f.file = nil, fileRef{}
			j.Fleet = &f
		}
		if len(j.Ports) == 0 {
			j.Ports = nil
		}
		if len(j.Files) == 0 {
			j.Files = nil
		}
		if len(j.Journal) == 0 {
			j.Journal = nil
		}
	}
}

// TestWriteYAMLGolden pins the text: defaults spelt out, stock filters
// named with their description.
func TestWriteYAMLGolden(t *testing.T) {
	for _, name := range []string{"own-filters", "layered"} {
		t.Run(name, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", "good", name+".yaml"), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := c.WriteYAML(&buf); err != nil {
				t.Fatal(err)
			}
			golden.CheckString(t, filepath.Join("testdata", "print", name+".golden"), buf.String())
		})
	}
}

func TestWriteYAMLHeartbeat(t *testing.T) {
	c, err := Parse("p.yaml", []byte(hbJails+"heartbeat: {url: https://hc-ping.com/x, quiet: 2h}\n"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	want := "heartbeat:\n  url: https://hc-ping.com/x\n  interval: 1m\n  timeout: 10s\n  method: GET\n  quiet: 2h\n"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("printed:\n%s\nwant it to contain:\n%s", buf.String(), want)
	}
	back, err := Parse("printed.yaml", buf.Bytes(), LoadOptions{})
	if err != nil || *back.Heartbeat != *c.Heartbeat {
		t.Errorf("heartbeat back: %+v, %v; want %+v", back.Heartbeat, err, *c.Heartbeat)
	}
}
