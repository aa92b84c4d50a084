package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/peerjail/peerjail/internal/firewall"
	"github.com/peerjail/peerjail/internal/jail"
	"github.com/peerjail/peerjail/internal/store"
)

// restore brings the fresh jails of g up to date with the store and the
// kernel, which may disagree after a crash:
//   - a ban in the store that has not ended is put back into the jail, and
//     into the kernel with its remaining time if it is missing there;
//   - a ban in the store that has ended is dropped;
//   - an element in the kernel that the store does not know (the daemon died
//     between the two writes) is adopted with the timeout the kernel has left.
//
// Offender history is restored so that bantime increments go on growing.
func (d *Daemon) restore(ctx context.Context, g *generation, fresh []int) error {
	if len(fresh) == 0 {
		return nil
	}
	now := d.o.Now()
	bans, err := d.st.Bans()
	if err != nil {
		return err
	}
	inKernel := map[string]firewall.Element{}
	if d.kernel != nil {
		els, err := d.kernel.List(ctx)
		if err != nil {
			return fmt.Errorf("read bans back from nftables: %w", err)
		}
		for _, el := range els {
			inKernel[el.Jail+"|"+el.Prefix.String()] = el
		}
	}
	var changes []firewall.Change
	var batch store.Batch
	for _, i := range fresh {
		rj := g.jails[i]
		name, j := rj.cfg.Name, rj.pj.Jail
		kernelJail := d.kernel != nil && rj.cfg.Action == "nftables"
		for _, b := range bans {
			if b.Jail != name {
				continue
			}
			k, err := jail.ParseKey(b.Key, rj.cfg.Policy.IPv6Prefix)
			if err != nil || !b.Until.After(now) {
				batch.DeleteBans = append(batch.DeleteBans, store.BanKey{Jail: b.Jail, Key: b.Key})
				continue
			}
			j.Restore(jail.Ban{Key: k, At: b.At, Until: b.Until, Offences: b.Offences})
			id := name + "|" + k.Prefix.String()
			if _, ok := inKernel[id]; ok {
				delete(inKernel, id)
			} else if kernelJail && k.Prefix.IsValid() {
				changes = append(changes, firewall.Change{Jail: name, Prefix: k.Prefix, Add: true, Timeout: b.Until.Sub(now)})
			}
		}
		if kernelJail {
			for id, el := range inKernel {
				if el.Jail != name {
					continue
				}
				k := jail.Key{Prefix: el.Prefix}
				until := now.Add(el.Remaining)
				j.Restore(jail.Ban{Key: k, At: now, Until: until, Offences: 1})
				batch.PutBans = append(batch.PutBans, store.Ban{Jail: name, Key: k.String(), At: now, Until: until, Offences: 1})
				d.log.Info("adopted a ban found in the kernel", "jail", name, "host", k.String(), "remaining", el.Remaining.Round(time.Second))
				delete(inKernel, id)
			}
		}
		offenders, err := d.st.Offenders(name)
		if err != nil {
			return err
		}
		for _, o := range offenders {
			if k, err := jail.ParseKey(o.Key, rj.cfg.Policy.IPv6Prefix); err == nil {
				j.SetOffences(k, o.Offences)
			}
		}
	}
	if len(changes) > 0 {
		if err := d.kernel.Apply(ctx, changes); err != nil {
			return fmt.Errorf("restore %d bans into nftables: %w", len(changes), err)
		}
	}
	d.log.Info("state restored", "bans", len(bans)-len(batch.DeleteBans), "re-added", len(changes), "expired", len(batch.DeleteBans), "adopted", len(batch.PutBans))
	return d.st.Update(batch)
}
