package fleet

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/peerjail/peerjail/internal/golden"
)

func TestStatusRendering(t *testing.T) {
	for name, st := range map[string]Status{
		"connected": {
			Reporter: "host-a", Stream: "PEERJAIL", Subject: "peerjail.reports",
			Connected: true, Server: "nats://127.0.0.1:4222",
			Outbox: 0, Published: 1234, Consumer: "peerjail-host-a", LagKnown: true, Lag: 17, AckPending: 3,
			Reporters: []ReporterStatus{
				{Reporter: "host-a", Reports: 1234, Last: t0},
				{Reporter: "host-b", Reports: 87, Last: t0.Add(-3 * time.Minute)},
			},
			Jails: []JailQuorum{
				{Jail: "libp2p", Quorum: 3, Pending: []int{40, 2}, Waiting: 1, Banned: 12},
				{Jail: "sshd", Quorum: 1, Pending: []int{}, Banned: 3},
			},
		},
		"away": {
			Reporter: "host-c", Stream: "PEERJAIL", Subject: "peerjail.reports",
			LastError: "nats: no servers available for connection",
			Outbox:    52, Dropped: 4, Consumer: "peerjail-host-c", Reporters: []ReporterStatus{},
			Jails: []JailQuorum{{Jail: "libp2p", Quorum: 2, Pending: []int{0}}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			if err := st.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			golden.CheckString(t, "testdata/status-"+name+".txt", b.String())
			js, err := json.MarshalIndent(st, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.CheckString(t, "testdata/status-"+name+".json", string(js)+"\n")
		})
	}
}
