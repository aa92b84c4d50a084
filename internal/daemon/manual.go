package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/peerjail/peerjail/internal/addr"
	"github.com/peerjail/peerjail/internal/filter"
	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/logline"
)

// What `peerjail ban` and `unban` take, said in their refusals.
const (
	wantHost = "an address as logs write it (203.0.113.7, 203.0.113.7:4001, 2001:db8::1, [2001:db8::1]:4001, " +
		"/ip4/203.0.113.7/tcp/4001, ::ffff:203.0.113.7) or a CIDR prefix (198.51.100.0/24, 2001:db8::/48)"
	wantHostOrID = wantHost + ", or an identity such as a peer ID"
)

// ErrIgnored marks a manual ban of an address the jail never bans (its
// ignoreip, this host's own addresses, loopback and the like); --force
// bans it anyway.
var ErrIgnored = errors.New("never banned by this jail")

// manualKey reads a host given on the command line exactly as the jail's
// filter reads <HOST> in a log (the same parser, internal/addr), or as a
// CIDR prefix. An identity is taken only by a jail whose filter yields
// identities: anywhere else it would be a ban nothing ever enforces.
func manualKey(lj *liveJail, host string) (jail.Key, error) {
	prefix := lj.cfg.Policy.IPv6Prefix
	if a, ok := addr.ParseString(host); ok {
		return jail.ParseKey(a.String(), prefix)
	}
	if p, err := netip.ParsePrefix(host); err == nil {
		return jail.ParseKey(p.String(), prefix)
	}
	want := wantHost
	if yieldsIDs(lj) {
		if isID(host) {
			return jail.Key{ID: host}, nil
		}
		want = wantHostOrID
	}
	return jail.Key{}, invalid{fmt.Errorf("%q: jail %q takes %s", host, lj.cfg.Name, want)}
}

// idFilter reads a whole text as a filter's <ID> reads it from a log.
var idFilter = func() filter.Filter {
	f, err := filter.New(filter.Spec{Name: "manual-id", Regex: &filter.RegexSpec{Fail: []string{`^<ID>$`}}})
	if err != nil {
		panic(fmt.Sprintf("the <ID> pattern does not compile: %v", err))
	}
	return f
}()

// isID reports whether s is one identity as <ID> reads it, and not text
// that merely fails to be an address.
func isID(s string) bool {
	if _, err := jail.ParseKey(s, jail.DefaultIPv6Prefix); err != nil {
		return false // looks like a broken address (1.2.3, 2001:db8:::1)
	}
	h, out := idFilter.Match(&logline.Line{Text: []byte(s)})
	return out == filter.Match && h.Host.ID == s
}

// yieldsIDs reports whether the jail's filter can name an identity, so
// that an identity ban in it may ever match.
func yieldsIDs(lj *liveJail) bool {
	s := lj.cfg.Filter
	if s.JSON != nil {
		return s.JSON.ID != ""
	}
	if s.Regex == nil {
		return false
	}
	for _, p := range s.Regex.Fail {
		if strings.Contains(p, "<ID>") || strings.Contains(p, "(?P<id>") {
			return true
		}
	}
	return false
}

// checkBan refuses, before anything is decided or saved, a ban that the
// firewall would refuse (a prefix matching every address) or that would
// cut off what the jail never bans, unless forced.
func (d *Daemon) checkBan(ctx context.Context, g *generation, lj *liveJail, k jail.Key, force bool) error {
	if !k.Prefix.IsValid() {
		return nil
	}
	if err := firewallAccepts(ctx, lj.cfg.Name, k.Prefix); err != nil {
		return invalid{err}
	}
	if force {
		return nil
	}
	if why, ok := d.ignores(g, lj, k.Prefix); ok {
		return invalid{fmt.Errorf("%s in jail %q: %w: %s (--force bans it anyway)", k, lj.cfg.Name, ErrIgnored, why)}
	}
	return nil
}

// firewallAccepts runs the firewall's own checks on the ban, in memory.
func firewallAccepts(ctx context.Context, name string, p netip.Prefix) error {
	fw := firewall.NewDryRun(nil)
	defer fw.Close()
	if err := fw.Setup(ctx, []firewall.Jail{{Name: name}}); err != nil {
		// A jail name nftables cannot take is config's to refuse; the
		// prefix is still checked by the real firewall when applied.
		return nil
	}
	err := fw.Apply(ctx, []firewall.Change{{Jail: name, Prefix: p, Add: true, Timeout: time.Hour}})
	if errors.Is(err, firewall.ErrInvalidChange) {
		return err
	}
	return nil
}

// ignores says why the jail never bans (part of) p, as the jail itself
// decides for hits: its ignoreip, this host's own addresses and the special
// addresses (loopback, multicast...). A ban overlapping them would drop
// their traffic too.
func (d *Daemon) ignores(g *generation, lj *liveJail, p netip.Prefix) (string, bool) {
	var why string
	var ok bool
	g.eng.Do(func() { why, ok = lj.lane.Counter.Ignores(jail.Key{Prefix: p}) })
	if ok {
		return "it overlaps " + why, true
	}
	return "", false
}
