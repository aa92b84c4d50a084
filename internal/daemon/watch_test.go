package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/peerjail/peerjail/internal/firewall"
)

// TestStatusListsWatchedFiles: status says which files a jail's source
// follows, fail2ban's "File list", and an empty list for a glob matching
// nothing.
func TestStatusListsWatchedFiles(t *testing.T) {
	for _, tt := range []struct {
		name, glob string
		want       []string
	}{
		{"a file", "auth.log", []string{"auth.log"}},
		{"a glob matching nothing", "nginx/*.log", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "peerjail.yaml"), []byte(fmt.Sprintf(sshConfig, filepath.Join(dir, tt.glob))), 0o600)
			td := newTestDaemon(t, dir, firewall.NewFake())
			st, err := td.client().Status(context.Background(), "ssh")
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, f := range tt.want {
				want = append(want, filepath.Join(dir, f))
			}
			if len(st) != 1 || !slices.Equal(st[0].Files, want) || len(st[0].Journal) != 0 {
				t.Fatalf("status: files %q, journal %q; want files %q, no journal", st[0].Files, st[0].Journal, want)
			}
		})
	}
}
