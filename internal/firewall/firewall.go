// Package firewall is the backend-neutral model of what peerjail enforces:
// the jails' ban changes and elements, the Firewall interface that backends
// implement (internal/nftables for the kernel), the in-memory Fake, the
// dry-run backend, validation of jails and changes, and Drift.
//
// A backend owns table inet peerjail and nothing else: four sets per jail
// (see sets.go: host keys in hash sets, networks in interval sets) and one
// input chain whose rules drop traffic from those sets. Every element
// carries its ban's timeout, so the kernel lifts a ban on time even while
// peerjail is down.
//
// A host key (an IPv4 address, an IPv6 group at the jail's IPv6 prefix) is
// one element of its own: adding it again replaces its timeout. Networks
// never overlap each other (an interval set rejects it), so Apply resolves
// their overlaps itself, in the order of the changes: adding a network
// inside one already present is skipped, because the wider ban already
// drops its traffic, unless the wider element has less than a second left;
// adding a network that contains narrower ones replaces them. A host key
// and a network may overlap; each ends on its own. Removing a prefix removes
// only that exact element. All backends, the fake included, follow these
// rules.
package firewall

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// Table is the nftables table (family inet) peerjail owns, and Chain the
// base chain its rules live in.
const (
	Table = "peerjail"
	Chain = "input"
)

// Sentinel errors, checked with errors.Is.
var (
	ErrUnsupported   = errors.New("nftables firewall is only supported on linux")
	ErrInvalidJail   = errors.New("invalid jail")
	ErrInvalidChange = errors.New("invalid change")
	ErrUnknownJail   = errors.New("jail is not set up in the firewall")
	ErrClosed        = errors.New("firewall is closed")
)

// Jail is what the firewall needs to know about one jail.
type Jail struct {
	Name string
	// Ports limits the ban to these destination ports; empty means all ports.
	Ports []PortRange
	// Protocol is "tcp", "udp" or "all" ("" means "all").
	Protocol string
	// IPv6Prefix is the length IPv6 hosts are banned by (0 means 64): a
	// backend may key its sets at it, so a ban of another length is a
	// network ban to it.
	IPv6Prefix int
}

// PortRange is an inclusive range of ports; a single port has From == To.
type PortRange struct{ From, To uint16 }

// Change bans (Add) or unbans a prefix in a jail. Single addresses are /32 or
// /128 prefixes. Timeout must be > 0 when adding; it is rounded up to whole
// milliseconds, the kernel's unit.
type Change struct {
	Jail    string
	Prefix  netip.Prefix
	Add     bool
	Timeout time.Duration
}

// Element is a ban present in the firewall. Remaining is 0 for an element
// without timeout (which peerjail itself never adds).
type Element struct {
	Jail      string
	Prefix    netip.Prefix
	Remaining time.Duration
}

// Firewall applies bans. Implementations are safe for concurrent use.
type Firewall interface {
	// Setup creates or updates the table, the sets of the jails and the rules
	// that drop their traffic, in one transaction. Elements of jails that
	// remain are kept; sets of jails no longer configured are removed.
	Setup(ctx context.Context, jails []Jail) error
	// Apply adds and removes elements in one transaction, all or nothing.
	// Adding an element that exists replaces its timeout (the nftables
	// backend relies on the kernel for a host key, and kernels before the
	// element timeout update keep its own); removing a missing
	// one is not an error.
	Apply(ctx context.Context, changes []Change) error
	// Restore puts bans back into force at start-up, in one transaction,
	// without reading the host sets first. Every change must add. An
	// element that is already there stays, with the ban's timeout (older
	// kernels keep its own); overlaps among networks resolve in address
	// order, so the widest wins.
	Restore(ctx context.Context, bans []Change) error
	// List returns the elements of all jails with their remaining timeouts.
	// A change applied while it reads shows either before or after.
	List(ctx context.Context) ([]Element, error)
	// Verify reports how the table differs from what Setup(jails) and then
	// Restore(bans) would have left: a missing table, chain or set, rules
	// that are not the jails', and the bans (additions) the sets lack. It
	// does not hold up Apply while it reads, so a ban applied or removed
	// meanwhile may be reported either way: the caller tells them apart.
	Verify(ctx context.Context, jails []Jail, bans []Change) (Drift, error)
	// Flush deletes the whole table; no error if it does not exist.
	Flush(ctx context.Context) error
	Close() error
}
