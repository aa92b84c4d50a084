package firewall

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestValidJails(t *testing.T) {
	tests := []struct {
		jail Jail
		ok   bool
	}{
		{Jail{Name: "libp2p-misbehaving", Protocol: "tcp", Ports: []PortRange{{4001, 4001}, {30000, 30100}}}, true},
		{Jail{Name: "sshd"}, true},
		{Jail{Name: "a_b", Protocol: "all"}, true},
		{Jail{Name: "x234567890123456789012345678"}, true},
		{Jail{Name: "x2345678901234567890123456789"}, false}, // set name too long for older kernels
		{Jail{Name: ""}, false},
		{Jail{Name: "1sshd"}, false},
		{Jail{Name: "ss hd"}, false},
		{Jail{Name: "ssh;d"}, false},
		{Jail{Name: "sshd", Protocol: "icmp"}, false},
		{Jail{Name: "sshd", Ports: []PortRange{{23, 22}}}, false},
	}
	for _, tt := range tests {
		err := CheckJails([]Jail{tt.jail})
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidJail)) {
			t.Errorf("CheckJails(%+v) = %v, want ok=%v", tt.jail, err, tt.ok)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in          Change
		wantPrefix  string
		wantTimeout time.Duration
		ok          bool
	}{
		{ban("j", "10.0.0.1/32", time.Hour), "10.0.0.1/32", time.Hour, true},
		{ban("j", "10.0.0.1/24", time.Hour), "10.0.0.0/24", time.Hour, true},
		{ban("j", "::ffff:10.0.0.1/128", time.Hour), "10.0.0.1/32", time.Hour, true},
		{ban("j", "::ffff:10.0.0.1/120", time.Hour), "10.0.0.0/24", time.Hour, true},
		{ban("j", "2001:db8::1/64", time.Hour), "2001:db8::/64", time.Hour, true},
		{ban("j", "10.0.0.1/32", time.Nanosecond), "10.0.0.1/32", time.Millisecond, true},
		{ban("j", "10.0.0.1/32", 1001*time.Microsecond), "10.0.0.1/32", 2 * time.Millisecond, true},
		{unban("j", "10.0.0.1/32"), "10.0.0.1/32", 0, true},
		{ban("j", "10.0.0.1/32", 0), "", 0, false},
		{ban("j", "10.0.0.1/32", -time.Second), "", 0, false},
		{ban("j", "0.0.0.0/0", time.Hour), "", 0, false},
		{ban("j", "::/0", time.Hour), "", 0, false},
		{unban("j", "::ffff:0.0.0.0/96"), "", 0, false},
		{Change{Jail: "j", Add: true, Timeout: time.Hour}, "", 0, false},
		{ban("bad jail", "10.0.0.1/32", time.Hour), "", 0, false},
	}
	for _, tt := range tests {
		got, err := normalize(tt.in)
		if !tt.ok {
			if !errors.Is(err, ErrInvalidChange) {
				t.Errorf("normalize(%+v) = %v, want ErrInvalidChange", tt.in, err)
			}
			continue
		}
		if err != nil || got.Prefix != netip.MustParsePrefix(tt.wantPrefix) || got.Timeout != tt.wantTimeout {
			t.Errorf("normalize(%+v) = %v %s, %v; want %s %s", tt.in, got.Prefix, got.Timeout, err, tt.wantPrefix, tt.wantTimeout)
		}
	}
}
