package fleet

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEncodeDecode(t *testing.T) {
	r := Report{Action: Ban, Jail: "libp2p", Key: "2001:db8::/64", Until: t0.Add(time.Hour), Offences: 3, Evidence: []string{"line one", "line two"}}
	data, err := encode(r, "host-a", "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"v":1,"action":"ban","jail":"libp2p","key":"2001:db8::/64","until":"2026-12-01T13:00:00Z","offences":3,` +
		`"evidence":"e9024f1a07d29d52ad3aa5e1a18e94db1f3a9fd32b89e39d47c472cd99071e13","reporter":"host-a","peerjail":"1.2.3"}`
	if got := string(data); got != want {
		t.Errorf("encoded\n%s\nwant\n%s", got, want)
	}
	got, err := decode("peerjail.reports", "peerjail.reports.host-b.libp2p", data, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got != (received{Reporter: "host-b", Jail: "libp2p", Key: "2001:db8::/64", Action: Ban, At: t0}) {
		t.Errorf("decoded %+v: want the subject's reporter host-b, not the body's", got)
	}
	if _, err := encode(Report{Action: "block", Jail: "libp2p", Key: "x"}, "a", ""); !errors.Is(err, errReport) {
		t.Errorf("encode of action block: %v, want errReport", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	const subj = "peerjail.reports.host-a.libp2p"
	good := `{"v":1,"action":"ban","jail":"libp2p","key":"192.0.2.1","reporter":"host-a"}`
	for _, tc := range []struct{ name, subject, body string }{
		{"other prefix", "other.reports.host-a.libp2p", good},
		{"no jail token", "peerjail.reports.host-a", good},
		{"deeper subject", "peerjail.reports.host-a.libp2p.x", good},
		{"not json", subj, `ban 192.0.2.1`},
		{"other version", subj, strings.Replace(good, `"v":1`, `"v":2`, 1)},
		{"other action", subj, strings.Replace(good, `"ban"`, `"block"`, 1)},
		{"jail differs from the subject's", subj, strings.Replace(good, `"jail":"libp2p"`, `"jail":"sshd"`, 1)},
		{"bad address", subj, strings.Replace(good, `192.0.2.1`, `192.0.2`, 1)},
		{"empty key", subj, strings.Replace(good, `192.0.2.1`, ``, 1)},
		{"too large", subj, strings.Replace(good, `"host-a"}`, `"`+strings.Repeat("x", maxMessage)+`"}`, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r, err := decode("peerjail.reports", tc.subject, []byte(tc.body), t0); !errors.Is(err, errReport) {
				t.Errorf("decode = %+v, %v; want errReport", r, err)
			}
		})
	}
	// An address is counted in one form however a host wrote it.
	r, err := decode("peerjail.reports", subj, []byte(strings.Replace(good, `192.0.2.1`, `192.0.2.1/32`, 1)), t0)
	if err != nil || r.Key != "192.0.2.1" {
		t.Errorf("decode of 192.0.2.1/32 = %+v, %v; want key 192.0.2.1", r, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("peerjail.reports.host-a.libp2p", `{"v":1,"action":"ban","jail":"libp2p","key":"192.0.2.1","reporter":"host-a"}`)
	f.Add("peerjail.reports.host-a.libp2p", `{"v":1,"action":"unban","jail":"libp2p","key":"12D3KooWabc"}`)
	f.Fuzz(func(t *testing.T, subject, body string) {
		r, err := decode("peerjail.reports", subject, []byte(body), t0)
		if err != nil {
			return
		}
		if strings.ContainsAny(r.Reporter, ".") || r.Key == "" || (r.Action != Ban && r.Action != Unban) {
			t.Errorf("decode accepted %+v", r)
		}
	})
}
