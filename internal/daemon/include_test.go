package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
)

// A reload reads the included files again: a broken one is refused with
// its own position and the running jails go on banning; a fixed one adds
// its jail.
func TestReloadRereadsIncludes(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "auth.log")
	main := fmt.Sprintf(sshConfig, log) + "include: [jails.d/*.yaml]\n"
	if err := os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	jailsD := filepath.Join(dir, "jails.d")
	os.Mkdir(jailsD, 0o755)
	td := newTestDaemon(t, dir, firewall.NewFake())
	ctx := context.Background()
	c := td.client()

	other := filepath.Join(dir, "other.log")
	os.WriteFile(other, nil, 0o600)
	dropIn := filepath.Join(jailsD, "other.yaml")
	jail := fmt.Sprintf("jails:\n  other:\n    filter: sshd\n    source: {files: [%s]}\n    maxretry: 2\n    ignoreself: false\n", other)
	os.WriteFile(dropIn, []byte(strings.Replace(jail, "maxretry: 2", "maxretry: two", 1)), 0o600)
	err := c.Reload(ctx)
	if err == nil || !strings.Contains(err.Error(), "jails.d/other.yaml:5:15: jail \"other\": maxretry") || !errors.Is(err, control.ErrInvalid) {
		t.Fatalf("reload with a broken include: %v (want the included file's position, marked invalid)", err)
	}
	st, err := c.Status(ctx, "")
	if err != nil || len(st) != 1 || st[0].Name != "ssh" {
		t.Fatalf("after the failed reload: %+v, %v; want ssh alone, running", st, err)
	}
	td.appendLines(t, failed("198.51.100.20", 3)...)
	waitFor(t, "a ban under the running config", func() bool { return inFirewall(td.fw, "ssh", "198.51.100.20/32") })

	os.WriteFile(dropIn, []byte(jail), 0o600)
	if err := c.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	st, err = c.Status(ctx, "other")
	if err != nil || len(st) != 1 || st[0].MaxRetry != 2 {
		t.Fatalf("the included jail after reload: %+v, %v", st, err)
	}
	f, _ := os.OpenFile(other, os.O_APPEND|os.O_WRONLY, 0)
	for _, l := range failed("198.51.100.21", 2) {
		fmt.Fprintln(f, l)
	}
	f.Close()
	waitFor(t, "a ban by the included jail", func() bool { return inFirewall(td.fw, "other", "198.51.100.21/32") })
}
