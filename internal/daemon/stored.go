package daemon

import (
	"errors"
	"fmt"
	"time"

	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/store"
)

// storedBan reads a ban from the store as the jail would have made it, and
// refuses one that no jail could have: an unreadable key, a prefix the
// firewall refuses (a /0 matches every address, see firewall's normalize),
// or a ban that ends before it starts. Such a record was written by an older
// peerjail or by hand; start-up drops it with a warning rather than let it
// fail the kernel's one restore transaction, and so every start.
//
// A ban of a jail that is no longer configured is not checked here and stays
// in the store: the jail may come back in the next configuration, and the
// record ends when its ban does.
func storedBan(b store.Ban, ipv6Prefix int) (jail.Key, error) {
	k, err := jail.ParseKey(b.Key, ipv6Prefix)
	switch {
	case err != nil:
		return k, err
	case k.Prefix.IsValid() && k.Prefix.Bits() == 0:
		return k, fmt.Errorf("prefix %s: %w", k.Prefix, errMatchesAll)
	case b.Until.Before(b.At):
		return k, fmt.Errorf("ends (%s) before it starts (%s)", b.Until.Format(timeFormat), b.At.Format(timeFormat))
	}
	return k, nil
}

// readBans reads the store's bans. Records it cannot decode are skipped
// (the store warns) and then removed, with the bans that have ended, so
// that they are not met again at every start; history is kept.
func (d *Daemon) readBans(now time.Time) ([]store.Ban, error) {
	skipped := d.st.Skipped()
	bans, err := d.st.Bans()
	if err != nil || d.st.Skipped() == skipped {
		return bans, err
	}
	if _, _, err := d.st.Prune(now, 0); err != nil {
		d.log.Warn("remove undecodable state records", "err", err)
	}
	return bans, nil
}

var errMatchesAll = errors.New("would match every address")

const timeFormat = "2006-01-02T15:04:05Z07:00"

// saved is err unless it only says that the store is behind: the store
// keeps the write and retries it, warns once and counts it in
// peerjail_store_behind, so neither a start nor a flush fails for a full
// disk, and the log does not repeat it on every write.
func saved(err error) error {
	if errors.Is(err, store.ErrBehind) {
		return nil
	}
	return err
}
