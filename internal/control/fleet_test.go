package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// fleetHandler answers fleet with a fixed status.
type fleetHandler struct {
	fakeHandler
	status json.RawMessage
}

func (f *fleetHandler) FleetStatus(context.Context) (json.RawMessage, error) {
	return f.status, f.record("fleet")
}

// The fleet command passes the handler's status on unchanged; a daemon
// without a fleet refuses it as the operator's mistake, and the command
// takes no arguments.
func TestFleetCommand(t *testing.T) {
	h := &fleetHandler{status: json.RawMessage(`{"reporter":"host-a","connected":false}`)}
	_, path := serve(t, h, nil)
	got, err := Client{Path: path}.FleetStatus(context.Background())
	if err != nil || !bytes.Equal(got, h.status) {
		t.Fatalf("fleet status %s, %v; want %s", got, err, h.status)
	}

	_, plain := serve(t, &fakeHandler{}, nil)
	if _, err := (Client{Path: plain}).FleetStatus(context.Background()); !errors.Is(err, ErrInvalid) {
		t.Errorf("fleet on a daemon without one: %v; want an invalid-request refusal", err)
	}
	if resp := raw(t, path, []byte(`{"cmd":"fleet","jail":"ssh"}`+"\n")); resp.OK || !resp.Invalid {
		t.Errorf("fleet with a jail: %+v; want refused as invalid", resp)
	}
}

// A fleet jail says whether the fleet is reachable, and a fleet ban names
// its reporters, in the text as in the JSON.
func TestWriteStatusFleet(t *testing.T) {
	st := []JailStatus{{
		Name: "libp2p", Filter: "libp2p-peer-status", Action: "nftables",
		Sources: []string{"journal:_SYSTEMD_UNIT=ipfs-daemon.service"}, TotalBanned: 2,
		FindTime: Duration(3 * time.Minute), MaxRetry: 90, BanTime: Duration(10 * time.Minute),
		Fleet: &JailFleet{Publish: true, Quorum: 2},
		Banned: []Banned{
			{Host: "203.0.113.7", Until: statusNow.Add(55 * time.Minute), Enforcement: Enforced},
			{Host: "203.0.113.8", Until: statusNow.Add(time.Hour), Enforcement: Enforced, Source: "fleet", Reporters: []string{"host-b", "host-c"}},
		},
	}}
	var buf bytes.Buffer
	WriteStatus(&buf, st, statusNow)
	checkGolden(t, "status-fleet.golden", buf.Bytes())
	buf.Reset()
	WriteSummary(&buf, st)
	checkGolden(t, "status-fleet-summary.golden", buf.Bytes())
	got, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "status-fleet.json", append(got, '\n'))
}
