package store

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCodecRoundTrip(t *testing.T) {
	times := []time.Time{
		{}, t0, t0.Add(time.Nanosecond), time.Unix(0, 0).UTC(), time.Unix(-1, 999_999_999).UTC(),
		time.Date(1600, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
	}
	for _, at := range times {
		for _, n := range []int{0, 1, 127, 128, math.MaxInt32} {
			ban := Ban{Offences: n, At: at, Until: at.Add(time.Hour)}
			v, err := encodeBanValue(nil, ban)
			if err != nil {
				t.Fatal(err)
			}
			var got Ban
			if err := decodeBanValue(v, &got); err != nil || !reflect.DeepEqual(got, ban) {
				t.Errorf("ban %+v: decoded %+v, %v", ban, got, err)
			}
			off := Offender{Offences: n, Last: at}
			v, err = encodeOffenderValue(nil, off)
			if err != nil {
				t.Fatal(err)
			}
			var gotOff Offender
			if err := decodeOffenderValue(v, &gotOff); err != nil || gotOff != off {
				t.Errorf("offender %+v: decoded %+v, %v", off, gotOff, err)
			}
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	if _, err := encodeBanValue(nil, Ban{Offences: math.MaxInt32 + 1}); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("offences over MaxInt32: %v", err)
	}
	if _, err := encodeOffenderValue(nil, Offender{Offences: -1}); !errors.Is(err, ErrInvalidRecord) {
		t.Errorf("negative offences: %v", err)
	}
}

func TestDecodeRecordKey(t *testing.T) {
	tests := []struct {
		in        string
		jail, key string
		ok        bool
	}{
		{"sshd\x00203.0.113.7", "sshd", "203.0.113.7", true},
		{"a\x00\x00", "a", "\x00", true}, // a key may hold NUL, a jail may not
		{"a\x00b\x00c", "a", "b\x00c", true},
		{"sshd\x00", "", "", false}, // empty key
		{"\x00key", "", "", false},  // empty jail
		{"sshd-key", "", "", false}, // no separator
		{"", "", "", false},
		{"a\x00" + strings.Repeat("k", maxRecordKey), "", "", false}, // too long
	}
	for _, tt := range tests {
		jail, key, err := decodeRecordKey([]byte(tt.in))
		if (err == nil) != tt.ok || string(jail) != tt.jail || string(key) != tt.key {
			t.Errorf("decodeRecordKey(%q) = %q, %q, %v; want %q, %q, ok=%v", tt.in, jail, key, err, tt.jail, tt.key, tt.ok)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to every record decoder: none may
// panic, and whatever decodes must survive an encode/decode round trip.
func FuzzDecode(f *testing.F) {
	k, _ := encodeRecordKey(nil, "sshd", "2001:db8:1:2::/64")
	v, _ := encodeBanValue(nil, Ban{Offences: 3, At: t0, Until: t0.Add(time.Hour)})
	o, _ := encodeOffenderValue(nil, Offender{Offences: 9, Last: t0})
	for _, seed := range [][]byte{k, v, o, {}, {0x80}, {0, 0, 0, 0, 0}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if jail, key, err := decodeRecordKey(b); err == nil {
			enc, err := encodeRecordKey(nil, string(jail), string(key))
			if err != nil {
				t.Fatalf("decoded key %q %q does not encode: %v", jail, key, err)
			}
			j2, k2, err := decodeRecordKey(enc)
			if err != nil || string(j2) != string(jail) || string(k2) != string(key) {
				t.Fatalf("key round trip: %q %q -> %q %q, %v", jail, key, j2, k2, err)
			}
		}
		var ban Ban
		if decodeBanValue(b, &ban) == nil {
			enc, err := encodeBanValue(nil, ban)
			var again Ban
			if err != nil || decodeBanValue(enc, &again) != nil || !reflect.DeepEqual(again, ban) {
				t.Fatalf("ban round trip: %+v -> %+v, %v", ban, again, err)
			}
		}
		var off Offender
		if decodeOffenderValue(b, &off) == nil {
			enc, err := encodeOffenderValue(nil, off)
			var again Offender
			if err != nil || decodeOffenderValue(enc, &again) != nil || again != off {
				t.Fatalf("offender round trip: %+v -> %+v, %v", off, again, err)
			}
		}
	})
}
