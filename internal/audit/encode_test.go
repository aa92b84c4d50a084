package audit

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// stdEncode is encoding/json's form of r, the reference.
func stdEncode(r Record) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	uid := uint32(4294967295)
	yes, no := true, false
	at := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	for _, r := range []Record{
		{Event: "ban"},
		{Time: at, Event: "ban", By: "manual", UID: &uid, Jail: "ssh", Key: "2001:db8::/64", Addrs: []string{"1.2.3.4/32"}, At: at, Until: at.Add(time.Hour),
			Hits: 5, Offences: -1, EscalatedFrom: 64, Filter: "sshd", Policy: &Policy{FindTime: "10m", MaxRetry: 5, BanTime: "1h"}, Sources: []string{"files:/var/log/auth.log"},
			Evidence: []string{"a\"b\\c\n\r\t\b\f\x00\x1f\x7f<&>", "\xff\xfe bad utf-8 é 日本 \u2028\u2029 🙂"}, Actions: []Result{{Action: "nftables", OK: true}, {Action: "webhook", Error: "x"}, {Action: "flow-admin", Queued: true}}},
		{Time: at, Event: "ban", By: "fleet", Jail: "libp2p", Key: "203.0.113.5", Until: at.Add(time.Hour), Reporters: []string{"host-a", "host-b"}},
		{Time: at.UTC(), Event: "reload", OK: &yes, Config: "/etc/p.yaml"},
		{Time: at, Event: "reload", OK: &no, Error: "bad: \"x\""},
		{Time: at, Event: "ban", Addrs: []string{}, Actions: []Result{}},
	} {
		want, err := stdEncode(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendRecord(nil, &r)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("appendRecord:\n%s (%v)\nencoding/json:\n%s", got, err, want)
		}
	}
	if _, err := appendRecord(nil, &Record{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Event: "ban"}); err == nil {
		t.Error("a time past year 9999 encoded")
	}
}

func FuzzEncode(f *testing.F) {
	f.Add("ssh", "203.0.113.7", "Failed password for root from 203.0.113.7", int64(1764583200), 5)
	f.Add("\x00", "\xff", "\u2028\"\\", int64(-62135596800), -3)
	f.Fuzz(func(t *testing.T, jail, key, line string, sec int64, n int) {
		at := time.Unix(sec, int64(n)).UTC()
		r := Record{Time: at, Event: key, Jail: jail, Key: key, At: at, Hits: n, Evidence: []string{line, jail}, Actions: []Result{{Action: line, OK: n%2 == 0, Error: key}}}
		want, werr := stdEncode(r)
		got, gerr := appendRecord(nil, &r)
		if (werr == nil) != (gerr == nil) || werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("appendRecord %s (%v), encoding/json %s (%v)", got, gerr, want, werr)
		}
	})
}
