package config

import (
	"reflect"
	"testing"
	"time"
)

// issueExample is the fleet example of issue 11, which must load as written.
const issueExample = `fleet:
  servers: [nats://127.0.0.1:4222]
  creds: /etc/peerjail/fleet.creds     # this host's NATS user; it may publish only on peerjail.reports.<user>.>
  stream: PEERJAIL
  subject: peerjail.reports
  publish: [libp2p]
jails:
  libp2p:
    filter: libp2p-peer-status
    source: {journal: {match: [_SYSTEMD_UNIT=ipfs-daemon.service]}}
    findtime: 3m
    maxretry: 90
    bantime: 10m
    fleet: {quorum: 2, window: 10m, bantime: 1h}
`

func TestFleetExample(t *testing.T) {
	c, err := Parse("/etc/peerjail/peerjail.yaml", []byte(issueExample), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := &Fleet{
		Servers:  []string{"nats://127.0.0.1:4222"},
		Creds:    "/etc/peerjail/fleet.creds",
		Stream:   "PEERJAIL",
		Subject:  "peerjail.reports",
		Replicas: 1,
		Publish:  []string{"libp2p"},
		Pos:      "/etc/peerjail/peerjail.yaml:2:3",
	}
	if !reflect.DeepEqual(c.Fleet, want) {
		t.Errorf("fleet = %+v\nwant    %+v", c.Fleet, want)
	}
	const summary = "fleet: servers nats://127.0.0.1:4222, reporter the host's name, creds /etc/peerjail/fleet.creds, " +
		"stream PEERJAIL (peerjail.reports.<reporter>.<jail>, 1 replicas), publish libp2p"
	if got := c.FleetSummary(); got != summary {
		t.Errorf("summary\n%s\nwant\n%s", got, summary)
	}
	fp := c.Jails[0].Fleet
	if fp == nil || fp.Quorum != 2 || fp.Window != 10*time.Minute || fp.BanTime != time.Hour || fp.NeedLocalHit {
		t.Errorf("jail fleet policy = %+v, want quorum 2, window 10m, bantime 1h, no local hit", fp)
	}
}

func TestFleetDefaults(t *testing.T) {
	const doc = `fleet:
  servers: [tls://nats-1:4222, nats://nats-2:4222]
  nkey: keys/host-a.nk
  reporter: host-a
  tls: {ca: ca.pem, cert: /pki/host.pem, key: /pki/host-key.pem}
  replicas: 3
jails:
  ssh:
    filter: sshd
    source: {files: /var/log/auth.log}
    bantime: 2h
    fleet: {quorum: 3, need_local_hit: true}
  quiet:
    filter: sshd
    source: {files: /var/log/auth.log}
`
	c, err := Parse("/etc/peerjail/peerjail.yaml", []byte(doc), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := c.Fleet
	if f.Stream != DefaultFleetStream || f.Subject != DefaultFleetSubject || f.Replicas != 3 || f.Reporter != "host-a" || f.Publish != nil {
		t.Errorf("fleet = %+v: want default stream and subject, replicas 3, reporter host-a, no jail shared", f)
	}
	if f.NKey != "/etc/peerjail/keys/host-a.nk" || f.TLS != (FleetTLS{"/etc/peerjail/ca.pem", "/pki/host.pem", "/pki/host-key.pem"}) {
		t.Errorf("nkey %q tls %+v: want relative paths taken from the config's directory", f.NKey, f.TLS)
	}
	fp := c.Jails[0].Fleet
	if fp.Quorum != 3 || fp.Window != DefaultFleetWindow || fp.BanTime != 2*time.Hour || !fp.NeedLocalHit {
		t.Errorf("policy = %+v: want quorum 3, the default window, the jail's bantime, a local hit", fp)
	}
	if c.Jails[1].Fleet != nil {
		t.Errorf("a jail without fleet: has policy %+v", c.Jails[1].Fleet)
	}
}
