package report

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"time"

	"github.com/peerjail/peerjail/internal/audit"
	"github.com/peerjail/peerjail/internal/store"
)

// Options select what Gather reads.
type Options struct {
	// StatePath is the state file; the audit trail is in its directory.
	StatePath string
	Host      Host
	// Since drops what happened before it; zero keeps everything.
	Since time.Time
	// LockWait bounds the wait for the state file's lock; 0 means 100ms.
	LockWait time.Duration
}

// Entry is what is known of one key in one jail.
type Entry struct {
	Jail string `json:"jail"`
	Key  string `json:"key"`
	// Offences counts the key's bans in the jail: the state file's count
	// when it could be read, else the highest the trail recorded.
	Offences int       `json:"offences"`
	LastBan  time.Time `json:"last_ban,omitzero"`
	// Until is the end of the ban in force, if one is.
	Until time.Time `json:"until,omitzero"`
	// Events are the trail's bans, escalations and unbans of the key,
	// oldest first.
	Events []audit.Record `json:"events"`
}

// History is the result of Gather.
type History struct {
	Entries []Entry
	// StoreRead says whether the state file was read; it is not while a
	// daemon holds it, and then offences and bans come from the trail.
	StoreRead bool
	// StoreLocked says that a daemon held the state file.
	StoreLocked bool
	// Skipped counts trail lines that could not be read.
	Skipped int
	// Reloads are the trail's reload records in the window.
	Reloads []audit.Record
}

type entryKey struct{ jail, key string }

// Gather reads the audit trail and, unless a daemon holds it, the state
// file. bbolt's lock would make a reader wait for the daemon for good, so
// the state file is tried with a short lock wait and skipped when locked:
// the trail, append-only, is readable while the daemon writes it.
func Gather(o Options) (History, error) {
	var h History
	byKey := map[entryKey]*Entry{}
	entry := func(jail, key string) *Entry {
		k := entryKey{jail, key}
		if e := byKey[k]; e != nil {
			return e
		}
		e := &Entry{Jail: jail, Key: key, Events: []audit.Record{}}
		byKey[k] = e
		return e
	}
	skipped, err := audit.Read(filepath.Dir(o.StatePath), func(r audit.Record) bool {
		if r.Time.Before(o.Since) {
			return true
		}
		if r.Event == audit.EventReload {
			h.Reloads = append(h.Reloads, r)
			return true
		}
		if r.Jail == "" || !o.Host.Matches(r.Key, r.Addrs) {
			return true
		}
		e := entry(r.Jail, r.Key)
		e.Events = append(e.Events, r)
		switch r.Event {
		case audit.EventBan, audit.EventEscalation:
			e.Offences = max(e.Offences, r.Offences)
			e.LastBan, e.Until = r.At, r.Until
		case audit.EventUnban:
			e.Until = time.Time{}
		}
		return true
	})
	h.Skipped = skipped
	if err != nil {
		return h, err
	}
	offenders, bans, locked, err := readStore(o)
	h.StoreLocked = locked
	if err != nil {
		return h, err
	}
	h.StoreRead = offenders != nil
	for _, off := range offenders {
		if !off.Last.Before(o.Since) && o.Host.Matches(off.Key, nil) {
			e := entry(off.Jail, off.Key)
			e.Offences = off.Offences
			if off.Last.After(e.LastBan) {
				e.LastBan = off.Last
			}
		}
	}
	if h.StoreRead {
		// The state file says which bans are in force.
		for _, e := range byKey {
			e.Until = time.Time{}
		}
		for _, b := range bans {
			if !b.Until.Before(o.Since) && o.Host.Matches(b.Key, nil) {
				entry(b.Jail, b.Key).Until = b.Until
			}
		}
	}
	for _, e := range byKey {
		h.Entries = append(h.Entries, *e)
	}
	slices.SortFunc(h.Entries, func(a, b Entry) int { return cmp.Or(cmp.Compare(a.Jail, b.Jail), cmp.Compare(a.Key, b.Key)) })
	return h, nil
}

// readStore reads the state file's offender history and bans; nil, nil
// when there is no state file or a daemon holds it (locked).
func readStore(o Options) (_ []store.Offender, _ []store.Ban, locked bool, _ error) {
	wait := o.LockWait
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	st, err := store.OpenReadOnly(o.StatePath, store.Options{LockTimeout: wait})
	switch {
	case errors.Is(err, store.ErrLocked):
		return nil, nil, true, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, false, nil
	case err != nil:
		return nil, nil, false, fmt.Errorf("read the state file: %w", err)
	}
	defer st.Close()
	offenders, err := st.Offenders("")
	if err != nil {
		return nil, nil, false, err
	}
	bans, err := st.Bans()
	if err != nil {
		return nil, nil, false, err
	}
	if offenders == nil {
		offenders = []store.Offender{}
	}
	return offenders, bans, false, nil
}
