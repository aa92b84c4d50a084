package daemon

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/store"
)

// TestInvalidStoredBansNeverStopAStart: a state file holding bans that no
// jail could have made (a prefix that matches every address, which the
// firewall refuses; a key that is no host; a ban ending before it starts;
// an undecodable record) starts fine, cold and warm, enforces the good ban
// and drops the bad ones from the store.
func TestInvalidStoredBansNeverStopAStart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db")
	now := time.Now()
	good := store.Ban{Jail: "ssh", Key: "198.51.100.7", At: now, Until: now.Add(time.Hour), Offences: 1}
	bad := []store.Ban{
		{Jail: "ssh", Key: "0.0.0.0/0", At: now, Until: now.Add(time.Hour), Offences: 1},
		{Jail: "ssh", Key: "::/0", At: now, Until: now.Add(time.Hour), Offences: 1},
		{Jail: "ssh", Key: "::ffff:0.0.0.0/96", At: now, Until: now.Add(time.Hour), Offences: 1},
		{Jail: "ssh", Key: "198.51.100.300", At: now, Until: now.Add(time.Hour), Offences: 1},
		{Jail: "ssh", Key: "198.51.100.8", At: now, Until: now.Add(-time.Minute), Offences: 1},
	}
	putBans(t, path, append(bad, good)...)
	rawPut(t, path, []byte("bans"), []byte("ssh\x00198.51.100.9"), []byte{0xff})

	for _, start := range []string{"cold", "warm"} {
		fw := firewall.NewFake()
		if start == "warm" {
			// The kernel still holds the table and the good ban.
			fw.Setup(context.Background(), []firewall.Jail{{Name: "ssh", Protocol: "all"}})
			fw.Apply(context.Background(), []firewall.Change{{Jail: "ssh", Prefix: netip.MustParsePrefix(good.Key + "/32"), Add: true, Timeout: time.Hour}})
		}
		td := newTestDaemon(t, dir, fw)
		if !inFirewall(fw, "ssh", "198.51.100.7/32") {
			t.Errorf("%s start: the good ban is not in the firewall", start)
		}
		got := banned(t, td.client())
		if len(got) != 1 || !got["198.51.100.7"] {
			t.Errorf("%s start: status lists %v, want only 198.51.100.7", start, got)
		}
		td.stop()
		stored := storedBans(t, path)
		if len(stored) != 1 || stored["ssh 198.51.100.7"].Key == "" {
			t.Errorf("%s start: store holds %v after the start, want only the good ban", start, stored)
		}
		st, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		st.Bans()
		if n := st.Skipped(); n != 0 {
			t.Errorf("%s start: %d undecodable records left in the store", start, n)
		}
		st.Close()
	}
}

func rawPut(t *testing.T, path string, bucket, k, v []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(k, v) }); err != nil {
		t.Fatal(err)
	}
}
