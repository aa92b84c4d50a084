package daemon

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/peerjail/peerjail/internal/control"
	"github.com/peerjail/peerjail/internal/firewall"
)

func TestStatusTopListsFailingHosts(t *testing.T) {
	td := newTestDaemon(t, t.TempDir(), firewall.NewFake())
	td.appendLines(t, failed("198.51.100.7", 2)...)
	td.appendLines(t, failed("198.51.100.8", 1)...)
	td.appendLines(t, failed("198.51.100.9", 2)...)
	c := td.client()
	ctx := context.Background()
	var st []control.JailStatus
	waitFor(t, "three failing hosts", func() bool {
		var err error
		st, err = c.StatusTop(ctx, "ssh", 2)
		return err == nil && len(st) == 1 && st[0].Failing == 3
	})
	got := st[0].FailingHosts
	// The lines' stamps have whole seconds, so either may be the latest.
	hosts := map[string]bool{}
	for _, f := range got {
		hosts[f.Host] = f.Hits == 2
	}
	if len(got) != 2 || !hosts["198.51.100.7"] || !hosts["198.51.100.9"] || got[0].Last.Before(got[1].Last) {
		t.Fatalf("top 2: %+v, want 198.51.100.7 and 198.51.100.9 with 2 hits each", got)
	}
	if got[0].Last.IsZero() {
		t.Errorf("no time of the last hit: %+v", got[0])
	}
	// Every jail at once: no walk of their hosts.
	all, err := c.StatusTop(ctx, "", 0)
	if err != nil || len(all) != 1 || all[0].FailingHosts != nil {
		t.Errorf("status of every jail: %+v, %v; want no failing hosts listed", all, err)
	}
}

func TestLogLevelCommand(t *testing.T) {
	var lv slog.LevelVar
	lv.Set(slog.LevelWarn)
	td := newTestDaemonWith(t, t.TempDir(), firewall.NewFake(), func(o *Options) { o.LogLevel = &lv })
	c := td.client()
	ctx := context.Background()
	if got, err := c.LogLevel(ctx, ""); err != nil || got != "warn" {
		t.Fatalf("log level %q, %v; want warn", got, err)
	}
	if got, err := c.LogLevel(ctx, "debug"); err != nil || got != "debug" || lv.Level() != slog.LevelDebug {
		t.Fatalf("set debug: %q, %v; level now %v", got, err, lv.Level())
	}
	if _, err := c.LogLevel(ctx, "loud"); !errors.Is(err, control.ErrInvalid) {
		t.Errorf("log level loud: %v, want an invalid-input error", err)
	}
	if lv.Level() != slog.LevelDebug {
		t.Errorf("a refused level changed it to %v", lv.Level())
	}

	fixed := newTestDaemon(t, t.TempDir(), firewall.NewFake())
	if _, err := fixed.client().LogLevel(ctx, "debug"); err == nil {
		t.Error("a daemon without a LevelVar changed its level")
	}
}
