package jail

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/peerjail/peerjail/internal/correlate"
	"github.com/peerjail/peerjail/internal/filter"
)

// KeyKind is what a jail counts hits by (config `key:`).
type KeyKind uint8

const (
	// KeyHost counts by the address a hit blames, or by its identity when
	// the line has no usable address of the peer's own (a relayed libp2p
	// connection, a line naming only a peer ID). The default.
	KeyHost KeyKind = iota
	// KeyID counts by the identity when the hit names one, and by its
	// address otherwise (a line with an address only still counts).
	KeyID
)

func (k KeyKind) String() string {
	if k == KeyID {
		return "id"
	}
	return "host"
}

// ParseKeyKind reads a `key:` value.
func ParseKeyKind(s string) (KeyKind, error) {
	switch s {
	case "host", "":
		return KeyHost, nil
	case "id":
		return KeyID, nil
	}
	return 0, fmt.Errorf("key %q: want host or id: %w", s, ErrPolicy)
}

// maxBanAddrs bounds the addresses one identity ban collects while it lasts;
// past it, new addresses are still learned but no longer banned with it.
const maxBanAddrs = 256

// whySelfID is why Ignores reports an own identity.
const whySelfID = "own identity (self_ids)"

// KeyOf returns the key a hit counts towards in this jail: with KeyID its
// identity when it names one, else what KeyFor makes of its host.
func (j *Counter) KeyOf(h *filter.Hit) (Key, bool) {
	if j.cfg.Key == KeyID && h.ID != "" {
		return Key{ID: h.ID}, true
	}
	return j.KeyFor(h.Host)
}

// SetCorrelation gives the jail the table that maps identities to
// addresses: a ban of an identity then carries the addresses the identity
// was seen at within the table's TTL (Decision.Addrs). nil: none.
func (j *Counter) SetCorrelation(t *correlate.Table) { j.corr = t }

// SetSelfIDs replaces the node's own identities (config self_ids and those
// learned from its own lines). Hits on them are ignored, like hits on own
// addresses; windows and bans are left alone.
func (j *Counter) SetSelfIDs(ids []string) {
	m := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		if id != "" {
			m[id] = struct{}{}
		}
	}
	j.selfIDs = m
}

func (j *Counter) isSelfID(id string) bool {
	if len(j.selfIDs) == 0 {
		return false
	}
	_, ok := j.selfIDs[id]
	return ok
}

// identityAddrs is what a ban of id at at covers besides id: its addresses
// seen within the correlation TTL, keyed as the jail keys addresses, without
// any the jail ignores.
func (j *Counter) identityAddrs(id string, at time.Time) []netip.Prefix {
	if j.corr == nil {
		return nil
	}
	var out []netip.Prefix
	for _, a := range j.corr.Addrs(nil, id, at) {
		if p, ok := j.banPrefix(a); ok && !slices.Contains(out, p) && len(out) < maxBanAddrs {
			out = append(out, p)
		}
	}
	return out
}

// banPrefix is what banning a costs: its key's prefix, or false when the
// jail never bans a (ignoreip, own address, special address).
func (j *Counter) banPrefix(a netip.Addr) (netip.Prefix, bool) {
	a = a.Unmap().WithZone("")
	if !a.IsValid() || j.ignore.contains(a) {
		return netip.Prefix{}, false
	}
	k, _ := j.KeyFor(filter.Host{Addr: a})
	return k.Prefix, true
}

// HasIdentityBans reports whether some identity is banned: only then can
// SeenAt do anything.
func (j *Counter) HasIdentityBans() bool { return j.bans.ids > 0 }

// SeenAt extends the ban of identity id, if it is banned, to address a where
// it was seen at at: the Decision bans a alone (Addrs), with the same key and
// end as the ban. false when id is not banned, a is ignored or already
// covered.
func (j *Counter) SeenAt(id string, a netip.Addr, at time.Time) (Decision, bool) {
	b := j.bans.get(Key{ID: id})
	if b == nil || len(b.Addrs) >= maxBanAddrs {
		return Decision{}, false
	}
	p, ok := j.banPrefix(a)
	if !ok || slices.Contains(b.Addrs, p) {
		return Decision{}, false
	}
	b.Addrs = append(b.Addrs, p)
	d := b.Until.Sub(at)
	return Decision{
		Action: ActionBan, Jail: j.cfg.Name, Key: b.Key,
		At: at, Until: b.Until, Duration: d,
		Offences: b.Offences, Addrs: []netip.Prefix{p},
	}, true
}
