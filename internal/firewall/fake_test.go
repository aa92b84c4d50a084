package firewall

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestFakeExpiresByItsClock(t *testing.T) {
	f := NewFake()
	setup(t, f, Jail{Name: "j"})
	apply(t, f, ban("j", "10.0.0.1/32", time.Minute), ban("j", "2001:db8::/64", time.Hour))
	f.Advance(20 * time.Second)
	if got := listed(t, f); got["j 10.0.0.1/32"] != 40*time.Second || got["j 2001:db8::/64"] != time.Hour-20*time.Second {
		t.Errorf("after 20s List = %v", got)
	}
	f.Advance(40 * time.Second)
	if got := listed(t, f); len(got) != 1 || got["j 2001:db8::/64"] != 59*time.Minute {
		t.Errorf("after 60s List = %v, want only the /64", got)
	}
	now := FakeEpoch.Add(2 * time.Hour)
	f.SetClock(func() time.Time { return now })
	apply(t, f, ban("j", "10.0.0.2/32", time.Minute))
	now = now.Add(time.Minute)
	if got := listed(t, f); len(got) != 0 {
		t.Errorf("with SetClock, after the ban's minute List = %v, want empty", got)
	}
}

func TestFakeSetupKeepsBansOfRemainingJails(t *testing.T) {
	f := NewFake()
	setup(t, f, Jail{Name: "a"}, Jail{Name: "b"})
	apply(t, f, ban("a", "10.0.0.1/32", time.Hour), ban("b", "10.0.0.2/32", time.Hour))
	setup(t, f, Jail{Name: "a", Protocol: "tcp"})
	if got := listed(t, f); len(got) != 1 || got["a 10.0.0.1/32"] != time.Hour {
		t.Errorf("after reload List = %v, want jail a's ban only", got)
	}
	if err := f.Apply(ctx, []Change{ban("b", "10.0.0.2/32", time.Hour)}); !errors.Is(err, ErrUnknownJail) {
		t.Errorf("Apply to a removed jail = %v, want ErrUnknownJail", err)
	}
	if err := f.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Apply(ctx, []Change{ban("a", "10.0.0.1/32", time.Hour)}); !errors.Is(err, ErrUnknownJail) {
		t.Errorf("Apply after Flush = %v, want ErrUnknownJail", err)
	}
}

func TestFakeRecordsCallsAndFailsOnDemand(t *testing.T) {
	f := NewFake()
	jails := []Jail{{Name: "j", Ports: []PortRange{{22, 22}}}}
	setup(t, f, jails...)
	jails[0].Ports[0].From = 1 // the recorded call must not change with the caller's slice
	boom := errors.New("boom")
	f.FailNext("Apply", boom)
	if err := f.Apply(ctx, []Change{ban("j", "10.0.0.1/32", time.Hour)}); !errors.Is(err, boom) {
		t.Fatalf("Apply = %v, want the injected error", err)
	}
	if got := listed(t, f); len(got) != 0 {
		t.Errorf("a failed Apply changed the state: %v", got)
	}
	apply(t, f, ban("j", "10.0.0.1/32", time.Hour))
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Flush(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close = %v, want ErrClosed", err)
	}
	calls := f.Calls()
	var methods []string
	for _, c := range calls {
		methods = append(methods, c.Method)
	}
	if got := strings.Join(methods, " "); got != "Setup Apply List Apply Close Flush" {
		t.Errorf("calls = %q", got)
	}
	if calls[0].Jails[0].Ports[0].From != 22 || len(calls[3].Changes) != 1 || calls[3].Changes[0].Prefix.String() != "10.0.0.1/32" {
		t.Errorf("recorded arguments = %+v", calls)
	}
}

func TestBackendsRefuseBadInput(t *testing.T) {
	for name, fw := range map[string]Firewall{"fake": NewFake(), "dry-run": NewDryRun(nil)} {
		setup(t, fw, Jail{Name: "j"})
		if err := fw.Setup(ctx, []Jail{{Name: "j"}, {Name: "j"}}); !errors.Is(err, ErrInvalidJail) {
			t.Errorf("%s: Setup with a duplicate jail = %v, want ErrInvalidJail", name, err)
		}
		err := fw.Apply(ctx, []Change{ban("j", "10.0.0.1/32", time.Hour), {Jail: "j", Prefix: mustPrefix("10.0.0.2/32"), Add: true}})
		if !errors.Is(err, ErrInvalidChange) {
			t.Errorf("%s: Apply of a ban without timeout = %v, want ErrInvalidChange", name, err)
		}
		if got := listed(t, fw); len(got) != 0 {
			t.Errorf("%s: a refused Apply applied %v", name, got)
		}
	}
}

func TestDryRunLogsEveryCall(t *testing.T) {
	var buf bytes.Buffer
	fw := NewDryRun(slog.New(slog.NewTextHandler(&buf, nil)))
	setup(t, fw, Jail{Name: "sshd", Ports: []PortRange{{22, 22}}, Protocol: "tcp"})
	apply(t, fw, ban("sshd", "192.0.2.7/32", time.Hour), unban("sshd", "192.0.2.8/32"))
	if err := fw.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`msg="would set up jail" firewall=dry-run table="inet peerjail" jail=sshd protocol=tcp`,
		`msg="would ban" firewall=dry-run jail=sshd prefix=192.0.2.7/32 timeout=1h0m0s`,
		`msg="would unban" firewall=dry-run jail=sshd prefix=192.0.2.8/32`,
		`msg="would delete table" firewall=dry-run table="inet peerjail"`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, buf.String())
		}
	}
}

// The fake's stand-ins for another process show in Verify, as the kernel's
// changes do, and are told to its watchers.
func TestFakeVerifyAndTamper(t *testing.T) {
	ctx := context.Background()
	jails := []Jail{{Name: "ssh"}}
	bans := []Change{ban("ssh", "198.51.100.7/32", time.Hour), ban("ssh", "198.51.100.8/32", time.Hour), ban("ssh", "2001:db8::/64", time.Hour)}
	cases := []struct {
		name   string
		tamper func(f *Fake)
		want   string
	}{
		{"nothing", func(*Fake) {}, "no drift"},
		{"flush ruleset", (*Fake).FlushRuleset, "table inet peerjail missing (3 bans)"},
		{"delete set", func(f *Fake) { f.DeleteSet("ssh_v6") }, "set ssh_v6 missing, set ssh_v6 lost 1 element"},
		{"delete element", func(f *Fake) { f.DeleteElement("ssh", mustPrefix("198.51.100.8/32")) }, "set ssh_v4 missing 1 element"},
		{"other jails", func(f *Fake) { f.Setup(ctx, []Jail{{Name: "ssh", Protocol: "tcp"}}) }, "chain input missing or its rules changed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := NewFake()
			setup(t, f, jails...)
			if err := f.Restore(ctx, bans); err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithCancel(ctx)
			told := make(chan struct{}, 1)
			done := make(chan error, 1)
			go func() { done <- f.Watch(wctx, func() { told <- struct{}{} }) }()
			for f.Watchers() == 0 {
				time.Sleep(time.Millisecond)
			}
			c.tamper(f)
			d, err := f.Verify(ctx, jails, bans)
			if err != nil {
				t.Fatal(err)
			}
			if d.String() != c.want {
				t.Errorf("Verify = %q, want %q", d, c.want)
			}
			cancel()
			<-done
			tampered := c.name != "nothing" && c.name != "other jails"
			if got := len(told) == 1; got != tampered {
				t.Errorf("watcher told %v, want %v", got, tampered)
			}
		})
	}
}

// A jail whose IPv6 prefix changes loses its IPv6 host keys, as the kernel's
// set of them is replaced: they meant other hosts at the old length.
func TestFakeSetupDropsIPv6HostKeysOfAnotherLength(t *testing.T) {
	f := NewFake()
	setup(t, f, Jail{Name: "j"})
	apply(t, f, ban("j", "2001:db8:0:1::/64", time.Hour), ban("j", "10.0.0.1/32", time.Hour), ban("j", "2001:db8::/48", time.Hour))
	setup(t, f, Jail{Name: "j", IPv6Prefix: 56})
	els, err := f.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range els {
		got = append(got, e.Prefix.String())
	}
	if strings.Join(got, " ") != "10.0.0.1/32 2001:db8::/48" {
		t.Errorf("after the prefix changed List = %v, want the IPv4 key and the IPv6 network", got)
	}
	apply(t, f, ban("j", "2001:db8:0:100::/56", time.Hour))
	if d, err := f.Verify(ctx, []Jail{{Name: "j", IPv6Prefix: 56}}, []Change{ban("j", "2001:db8:0:100::/56", time.Hour)}); err != nil || !d.None() {
		t.Errorf("Verify of the /56 host key = %v, %v; want no drift", d, err)
	}
}
