package action

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/jail"
)

// Kernel is an action that enforces in peerjail's own nftables table. The
// daemon applies it inside its flush, before the store commit (a ban in the
// store is one the kernel holds), in one transaction for all jails, and
// verifies and repairs it: it asks an action for this interface rather than
// for its name.
type Kernel interface {
	Action
	Firewall() firewall.Firewall
}

// Inline is an action the daemon applies inside its flush without a queue:
// it is local and cannot fail for lack of a remote end. The kernel is one;
// dry-run the other.
type Inline interface {
	Action
	inline()
}

// NFTables is the kernel action of one jail: its decisions as changes of
// the jail's sets.
type NFTables struct {
	fw   firewall.Firewall
	jail string
	now  func() time.Time
}

var _ Kernel = (*NFTables)(nil)

// NewNFTables returns the nftables action of a jail over fw, which the
// daemon opens and closes.
func NewNFTables(fw firewall.Firewall, jail string, now func() time.Time) *NFTables {
	return &NFTables{fw: fw, jail: jail, now: now}
}

func (n *NFTables) Name() string                { return "nftables" }
func (n *NFTables) Firewall() firewall.Firewall { return n.fw }
func (n *NFTables) Takes(k jail.Key) bool       { return k.Prefix.IsValid() }
func (n *NFTables) Close() error                { return nil }
func (n *NFTables) inline()                     {}
func (n *NFTables) String() string              { return n.Name() + " " + n.jail }
func (n *NFTables) Apply(ctx context.Context, ds []jail.Decision) error {
	return n.fw.Apply(ctx, Changes(ds, n.now()))
}

// Held lists the jail's elements in the kernel.
func (n *NFTables) Held(ctx context.Context) ([]Held, error) {
	els, err := n.fw.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list nftables: %w", err)
	}
	var out []Held
	for _, el := range els {
		if el.Jail == n.jail {
			out = append(out, Held{Jail: el.Jail, Key: jail.Key{Prefix: el.Prefix}.String(), Remaining: el.Remaining})
		}
	}
	return out, nil
}

// Changes are the firewall changes of decisions: a ban of an address or
// prefix, or of an identity's addresses (Decision.Addrs), for the time the
// ban has left (a second at least); an unban of them. Whether an address of
// an unbanned identity is still held by another ban is the caller's to
// decide: it passes only the addresses to lift.
func Changes(ds []jail.Decision, now time.Time) []firewall.Change {
	var out []firewall.Change
	for _, d := range ds {
		for _, p := range Prefixes(d) {
			c := firewall.Change{Jail: d.Jail, Prefix: p, Add: d.Action == jail.ActionBan}
			if c.Add {
				c.Timeout = max(d.Until.Sub(now), time.Second)
			}
			out = append(out, c)
		}
	}
	return out
}

// Prefixes are what a decision asks of an address action: its key when it
// is an address or prefix, else the identity's addresses.
func Prefixes(d jail.Decision) []netip.Prefix {
	if d.Key.Prefix.IsValid() {
		return []netip.Prefix{d.Key.Prefix}
	}
	return d.Addrs
}

// DryRun only logs what the jail decides: the bans are counted, stored and
// listed like any other, but nothing drops a packet.
type DryRun struct{ log *slog.Logger }

var _ Inline = (*DryRun)(nil)

// NewDryRun returns the dry-run action; a nil log discards.
func NewDryRun(log *slog.Logger) *DryRun {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DryRun{log: log.With("action", "dry-run")}
}

func (d *DryRun) Name() string          { return "dry-run" }
func (d *DryRun) Takes(k jail.Key) bool { return k.IsValid() }
func (d *DryRun) inline()               {}
func (d *DryRun) Close() error          { return nil }

// Apply logs each decision with what an address action would change.
func (d *DryRun) Apply(_ context.Context, ds []jail.Decision) error {
	for _, dec := range ds {
		d.log.Info("would "+dec.Action.String(), "jail", dec.Jail, "host", dec.Key.String(), "addrs", len(Prefixes(dec)))
	}
	return nil
}

// Held is ErrNotListable: the jails' own bans are what it would hold.
func (d *DryRun) Held(context.Context) ([]Held, error) { return nil, ErrNotListable }
