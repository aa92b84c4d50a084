package replay

import (
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/jail"
)

// wouldRun names the actions of jc that would have carried out d, as the
// daemon gives decisions only to the actions that take their key: nftables
// an address or prefix, or an identity's correlated addresses; flow-admin
// an identity (not the extension of its ban to a new address, which the
// node's blocklist already covers); the others every decision.
func wouldRun(jc config.Jail, d jail.Decision, extension bool) []string {
	var out []string
	for _, a := range jc.Actions {
		if takes(a.Type, d, extension) {
			out = append(out, actionName(a))
		}
	}
	return out
}

func takes(t config.ActionType, d jail.Decision, extension bool) bool {
	switch t {
	case config.ActionNFTables:
		return d.Key.ID == "" || len(d.Addrs) > 0
	case config.ActionFlowAdmin:
		return d.Key.ID != "" && !extension
	}
	return true
}

// actionName is how status names an action (config.ActionSpec.Label).
func actionName(a config.ActionSpec) string { return a.Label() }
