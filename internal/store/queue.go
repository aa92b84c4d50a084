package store

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// queue holds the writes that a failed Update could not commit (a full
// disk, an I/O error), merged by record: a later put or delete of the same
// ban, offender, position or jail's pending windows replaces the earlier
// one, so the queue never holds more than one entry per record the state
// has. That bounds it by the state itself (active bans, offenders, sources,
// jails), however long the disk stays full.
type queue struct {
	bans      map[BanKey]*Ban // nil: delete
	offenders map[BanKey]Offender
	positions map[string]string           // "": delete
	pending   map[string][]PendingHost    // nil or empty: delete the jail's windows
	actions   map[ActionKey]*ActionRecord // nil: delete
}

func (q *queue) empty() bool {
	return len(q.bans) == 0 && len(q.offenders) == 0 && len(q.positions) == 0 && len(q.pending) == 0 && len(q.actions) == 0
}

// size is how many records the queue would write.
func (q *queue) size() int {
	return len(q.bans) + len(q.offenders) + len(q.positions) + len(q.pending) + len(q.actions)
}

// merge adds b after what the queue holds, in Batch's own order: deletes,
// then puts.
func (q *queue) merge(b *Batch) {
	if q.bans == nil {
		q.bans = make(map[BanKey]*Ban)
		q.offenders = make(map[BanKey]Offender)
		q.positions = make(map[string]string)
		q.pending = make(map[string][]PendingHost)
		q.actions = make(map[ActionKey]*ActionRecord)
	}
	for _, k := range b.DeleteBans {
		q.bans[k] = nil
	}
	for i := range b.PutBans {
		ban := b.PutBans[i]
		k := BanKey{ban.Jail, ban.Key}
		if old := q.bans[k]; old != nil {
			// Addresses merge, as they do on disk.
			ban.Addrs = mergeAddrs(old.Addrs, ban.Addrs)
		}
		q.bans[k] = &ban
	}
	for _, o := range b.PutOffenders {
		q.offenders[BanKey{o.Jail, o.Key}] = o
	}
	maps.Copy(q.positions, b.Positions)
	maps.Copy(q.pending, b.Pending)
	for _, k := range b.DeleteActions {
		q.actions[k] = nil
	}
	for i := range b.PutActions {
		r := b.PutActions[i]
		q.actions[ActionKey{r.Action, r.Jail, r.Key}] = &r
	}
}

// batch is the queue as one Batch, in a fixed order so that a retry writes
// the same way each time.
func (q *queue) batch() Batch {
	var b Batch
	for _, k := range slices.SortedFunc(maps.Keys(q.bans), compareBanKey) {
		if ban := q.bans[k]; ban != nil {
			b.PutBans = append(b.PutBans, *ban)
		} else {
			b.DeleteBans = append(b.DeleteBans, k)
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(q.offenders), compareBanKey) {
		b.PutOffenders = append(b.PutOffenders, q.offenders[k])
	}
	if len(q.positions) > 0 {
		b.Positions = maps.Clone(q.positions)
	}
	if len(q.pending) > 0 {
		b.Pending = maps.Clone(q.pending)
	}
	for _, k := range slices.SortedFunc(maps.Keys(q.actions), compareActionKey) {
		if r := q.actions[k]; r != nil {
			b.PutActions = append(b.PutActions, *r)
		} else {
			b.DeleteActions = append(b.DeleteActions, k)
		}
	}
	return b
}

func compareBanKey(a, b BanKey) int {
	return cmp.Or(cmp.Compare(a.Jail, b.Jail), cmp.Compare(a.Key, b.Key))
}

func compareActionKey(a, b ActionKey) int {
	if a.Action != b.Action {
		return strings.Compare(a.Action, b.Action)
	}
	return compareBanKey(BanKey{a.Jail, a.Key}, BanKey{b.Jail, b.Key})
}

// hasBan reports whether the queue holds a write (a put or a delete) of k.
func (q *queue) hasBan(k BanKey) bool {
	_, ok := q.bans[k]
	return ok
}

// overlayBans applies the queued ban writes to bans read from the file.
func (q *queue) overlayBans(bans []Ban) []Ban {
	if len(q.bans) == 0 {
		return bans
	}
	out := bans[:0:0]
	out = slices.Grow(out, len(bans)+len(q.bans))
	for _, b := range bans {
		if _, queued := q.bans[BanKey{b.Jail, b.Key}]; !queued {
			out = append(out, b)
		}
	}
	for _, b := range q.bans {
		if b != nil {
			out = append(out, *b)
		}
	}
	sortBans(out)
	return out
}

// overlayOffenders applies the queued offender writes for jail ("" = all).
func (q *queue) overlayOffenders(jail string, offs []Offender) []Offender {
	if len(q.offenders) == 0 {
		return offs
	}
	out := offs[:0:0]
	for _, o := range offs {
		if _, queued := q.offenders[BanKey{o.Jail, o.Key}]; !queued {
			out = append(out, o)
		}
	}
	for k, o := range q.offenders {
		if jail == "" || k.Jail == jail {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b Offender) int { return compareBanKey(BanKey{a.Jail, a.Key}, BanKey{b.Jail, b.Key}) })
	return out
}
