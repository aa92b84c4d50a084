package nftables

import (
	"context"
	"net/netip"

	"github.com/peerjail/peerjail/internal/firewall/firewalltest"
)

var ctx = context.Background()

// The checks and helpers every backend shares.
var (
	setup          = firewalltest.Setup
	apply          = firewalltest.Apply
	ban            = firewalltest.Ban
	unban          = firewalltest.Unban
	listed         = firewalltest.Listed
	keys           = firewalltest.Keys
	within         = firewalltest.Within
	checkSemantics = firewalltest.Semantics
	checkRestore   = firewalltest.Restore
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
