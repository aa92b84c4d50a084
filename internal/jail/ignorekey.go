package jail

import "net/netip"

// SetSelf replaces this host's own addresses (ignoreself) at run time. They are
// ignored like ignoreip entries and narrow the IPv6 groups holding them to
// /128. Windows and bans are left alone: an address change must not reset
// counting, and a ban already in the kernel is the operator's to lift.
func (j *Counter) SetSelf(self []netip.Prefix) {
	j.self = append(j.self[:0:0], self...)
	j.ignore = newIgnoreSet(j.cfg.IPv6Prefix, j.cfg.IgnoreIP, j.self)
}

// Ignores reports whether k shares an address with an ignored prefix (an
// ignoreip entry or an own address), and which: a manual ban of such a key cuts
// off what the policy protects, so the caller should ask for confirmation.
// An identity is ignored when it is one of the node's own (SetSelfIDs).
func (j *Counter) Ignores(k Key) (reason string, ok bool) {
	k = canonical(k)
	if k.ID != "" && j.isSelfID(k.ID) {
		return whySelfID + " " + k.ID, true
	}
	if !k.Prefix.IsValid() {
		return "", false
	}
	e, ok := j.ignore.overlap(k.Prefix)
	if !ok {
		return "", false
	}
	return e.why + " " + e.prefix.String(), true
}
