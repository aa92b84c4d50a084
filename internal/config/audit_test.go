package config

import (
	"strings"
	"testing"
)

func TestAuditSection(t *testing.T) {
	const jails = "jails: {ssh: {filter: sshd, source: {files: [/var/log/auth.log]}}}\n"
	tests := []struct {
		name, yaml string
		want       Audit
		err        string
	}{
		{"absent", "", Audit{Enabled: true, MaxSize: 100_000_000, Keep: 5}, ""},
		{"empty", "audit:\n", Audit{Enabled: true, MaxSize: 100_000_000, Keep: 5}, ""},
		{"set", "audit: {max_size: 512KiB, keep: 2}\n", Audit{Enabled: true, MaxSize: 512 << 10, Keep: 2}, ""},
		{"off", "audit: {enabled: false}\n", Audit{MaxSize: 100_000_000, Keep: 5}, ""},
		{"gigabytes", "audit: {max_size: 2GB}\n", Audit{Enabled: true, MaxSize: 2e9, Keep: 5}, ""},
		{"no unit", "audit: {max_size: 100}\n", Audit{}, `peerjail.yaml:1:19: audit: max_size: "100" has no unit (e.g. 100MB)`},
		{"bad unit", "audit: {max_size: 10 parsecs}\n", Audit{}, `peerjail.yaml:1:19: audit: max_size: "10 parsecs" is not a size (e.g. 100MB, 512KiB)`},
		{"tiny", "audit: {max_size: 10B}\n", Audit{}, `audit: max_size: "10B" is too small: at least 1KB`},
		{"keep 0", "audit: {keep: 0}\n", Audit{}, `peerjail.yaml:1:15: audit: keep: 0 is out of range 1..1000 (e.g. 5)`},
		{"unknown", "audit: {max_files: 3}\n", Audit{}, `audit: max_files: unknown key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("peerjail.yaml", []byte(tt.yaml+jails), LoadOptions{SourcesOptional: true})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.AuditSettings(); got != tt.want {
				t.Errorf("audit %+v, want %+v", got, tt.want)
			}
		})
	}
}
