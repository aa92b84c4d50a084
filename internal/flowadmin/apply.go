package flowadmin

import (
	"context"
	"fmt"
	"strings"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/jail"
)

// Apply maps each decision's key to a node ID, then reads the blocklist
// once, applies every ban and unban to it in order and writes it once. A
// decision whose peer ID the node cannot map fails alone; a failed read or
// write fails every decision that reached it.
func (a *Action) Apply(ctx context.Context, ds []jail.Decision) error {
	errs := make([]error, len(ds))
	ids := make([]string, len(ds))
	var live []int
	for i, d := range ds {
		id, err := a.NodeID(ctx, d.Key.ID)
		if err != nil {
			errs[i] = fmt.Errorf("%s %s: %w", d.Action, d.Key, err)
			continue
		}
		ids[i] = id
		live = append(live, i)
	}
	if len(live) > 0 {
		if err := a.update(ctx, ds, ids, live); err != nil {
			for _, i := range live {
				errs[i] = err
			}
		}
	}
	return action.Result(errs)
}

// NodeID maps a decision's key to the node ID to block: a node ID as
// itself (lower-case), a peer ID through get-latest-identity, remembered
// since the mapping is fixed by the node's keys.
func (a *Action) NodeID(ctx context.Context, key string) (string, error) {
	switch {
	case IsNodeID(key):
		return strings.ToLower(key), nil
	case !IsPeerID(key):
		return "", fmt.Errorf("%q: %w", key, ErrNotIdentity)
	}
	a.peersMu.Lock()
	id, ok := a.peers[key]
	a.peersMu.Unlock()
	if ok {
		return id, nil
	}
	id, err := a.c.nodeIDOf(ctx, key)
	if err != nil {
		return "", err
	}
	a.peersMu.Lock()
	if len(a.peers) >= maxPeers {
		clear(a.peers)
	}
	a.peers[key] = id
	a.peersMu.Unlock()
	return id, nil
}

// update is the read-merge-write of the blocklist for the decisions at live.
func (a *Action) update(ctx context.Context, ds []jail.Decision, ids []string, live []int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, err := a.c.getBlocklist(ctx)
	if err != nil {
		return err
	}
	next, changed := merge(cur, ds, ids, live)
	if !changed {
		return nil
	}
	expect := cur
	for range rewrites {
		old, err := a.c.setBlocklist(ctx, next)
		if err != nil {
			return err
		}
		if sameSet(old, expect) {
			return nil
		}
		// Someone wrote the list between our read and our write, and our
		// write replaced theirs: merge again onto what they wrote and put
		// that back, so their entries are not lost.
		a.log.Warn("flow-admin: the blocklist changed while peerjail updated it; merging again", "action", a.name)
		expect = next
		next, _ = merge(old, ds, ids, live)
	}
	return fmt.Errorf("flow-admin: the blocklist kept changing while peerjail updated it (%d writes)", rewrites)
}

// merge applies the decisions at live to list, in order: a ban appends its
// node ID unless present, an unban removes it. Every other entry stays, in
// its place.
func merge(list []string, ds []jail.Decision, ids []string, live []int) ([]string, bool) {
	out := append([]string(nil), list...)
	changed := false
	for _, i := range live {
		at := index(out, ids[i])
		switch {
		case ds[i].Action == jail.ActionBan && at < 0:
			out = append(out, ids[i])
			changed = true
		case ds[i].Action == jail.ActionUnban && at >= 0:
			out = append(out[:at], out[at+1:]...)
			changed = true
		}
	}
	return out, changed
}

func index(list []string, id string) int {
	for i, e := range list {
		if e == id {
			return i
		}
	}
	return -1
}

func sameSet(a, b []string) bool {
	set := make(map[string]bool, len(a))
	for _, x := range a {
		set[x] = true
	}
	other := make(map[string]bool, len(b))
	for _, x := range b {
		if !set[x] {
			return false
		}
		other[x] = true
	}
	return len(other) == len(set)
}
