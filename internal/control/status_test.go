package control

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/golden"
)

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

var statusNow = time.Date(2024, 7, 27, 11, 5, 0, 0, time.UTC)

func statusSample() []JailStatus {
	return []JailStatus{
		{
			Name: "sshd", Filter: "sshd", Action: "nftables",
			Sources: []string{"/var/log/auth.log", "journal:sshd.service"},
			Files:   []string{"/var/log/auth.log"},
			Journal: []string{"_SYSTEMD_UNIT=sshd.service", "SYSLOG_IDENTIFIER=sshd"},
			Failing: 3, TotalHits: 128, TotalBanned: 7,
			FindTime: Duration(10 * time.Minute), MaxRetry: 5, BanTime: Duration(time.Hour),
			Banned: []Banned{
				{Host: "203.0.113.7", Until: statusNow.Add(55 * time.Minute), Remaining: Duration(55 * time.Minute), Enforcement: Enforced},
				{Host: "2001:db8:1:2::/64", Until: statusNow.Add(26*time.Hour + 3*time.Second + 400*time.Millisecond),
					Enforcement: Pending, Error: "missing from the kernel", EscalatedFrom: 80},
				{Host: "198.51.100.9", Until: statusNow.Add(-time.Second), Enforcement: Enforced}, // expiring as we speak
				{Host: "16Uiu2HAm8DhX76aoUyo5nboCeAzoaLpppmvEaK54XB2gWBYV2gUX", Enforcement: "identity",
					Addrs: []string{"198.51.100.20", "2001:db8::20"}},
			},
			Actions: []ActionStatus{
				{Name: "nftables", Held: 2},
				{Name: "flow-admin http://127.0.0.1:9002", Held: 0, Queued: 3, Dropped: 1, Failing: true,
					Since: statusNow.Add(-4 * time.Minute), Error: "connection refused"},
			},
			FailingHosts: []FailingHost{
				{Host: "198.51.100.50", Hits: 4, Last: statusNow.Add(-10 * time.Second)},
				{Host: "2001:db8:9::/64", Hits: 2, Last: statusNow.Add(-3 * time.Minute)},
				{Host: "203.0.113.200", Hits: 1, Last: statusNow},
			},
		},
		{
			Name: "libp2p", Filter: "libp2p-misbehaving", Action: "dry-run",
			Sources: []string{"files:/var/log/ipfs/*.log"}, // matching nothing
			Failing: 1, TotalHits: 1, FindTime: Duration(90 * time.Second), MaxRetry: 1,
			BanTime: Duration(24 * time.Hour),
		},
	}
}

func TestWriteStatus(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		st     []JailStatus
		loc    *time.Location
	}{
		{"two jails", "status.golden", statusSample(), time.UTC},
		{"one jail local time", "status-one.golden", statusSample()[:1], time.FixedZone("CEST", 2*3600)},
		{"no jails", "status-none.golden", nil, time.UTC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			WriteStatus(&buf, tt.st, statusNow.In(tt.loc))
			checkGolden(t, tt.golden, buf.Bytes())
		})
	}
}

// TestWriteSummary: `peerjail status` without a jail, one line each.
func TestWriteSummary(t *testing.T) {
	st := statusSample()
	st = append(st, JailStatus{Name: "flow", Filter: "flow-misbehavior", Action: "flow-admin",
		Actions: []ActionStatus{{Name: "flow-admin http://127.0.0.1:9002", Queued: 2}, {Name: "nftables"}}})
	for _, tt := range []struct {
		golden string
		st     []JailStatus
	}{{"status-summary.golden", st}, {"status-summary-none.golden", nil}} {
		var buf bytes.Buffer
		WriteSummary(&buf, tt.st)
		checkGolden(t, tt.golden, buf.Bytes())
	}
}

// TestStatusJSON pins the shape of `peerjail status --json`, a contract.
func TestStatusJSON(t *testing.T) {
	st := statusSample()
	st[0].Banned = st[0].Banned[:1]
	got, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "status.json", append(got, '\n'))
	var back []JailStatus
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if back[1].Sources == nil || back[1].Files == nil || back[1].Journal == nil || back[1].Banned == nil {
		t.Errorf("empty lists came back nil: %+v", back[1])
	}
	if back[0].Banned[0].Remaining != Duration(55*time.Minute) || back[0].FindTime != Duration(10*time.Minute) {
		t.Errorf("durations did not survive JSON: %+v", back[0])
	}
}

func TestDurationText(t *testing.T) {
	tests := []struct {
		in      string
		want    Duration
		wantErr bool
	}{
		{`"1h2m3s"`, Duration(time.Hour + 2*time.Minute + 3*time.Second), false},
		{`"90s"`, Duration(90 * time.Second), false},
		{`"0s"`, 0, false},
		{`"-5m"`, Duration(-5 * time.Minute), false},
		{`""`, 0, true},
		{`"1d"`, 0, true},
		{`3600`, 0, true},
	}
	for _, tt := range tests {
		var d Duration
		err := json.Unmarshal([]byte(tt.in), &d)
		if (err != nil) != tt.wantErr || d != tt.want {
			t.Errorf("%s: got %v, %v; want %v (error %t)", tt.in, d, err, tt.want, tt.wantErr)
		}
		if err != nil {
			continue
		}
		if b, _ := json.Marshal(d); string(b) != `"`+time.Duration(tt.want).String()+`"` {
			t.Errorf("%s: marshals as %s", tt.in, b)
		}
	}
}

func TestShortDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {-time.Hour, "0s"}, {999 * time.Millisecond, "0s"}, {90 * time.Second, "1m30s"},
		{time.Hour, "1h"}, {36 * time.Hour, "1d12h"}, {7*24*time.Hour + time.Second, "7d1s"},
	}
	for _, tt := range tests {
		if got := shortDuration(tt.d); got != tt.want {
			t.Errorf("shortDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
