package nftables

import (
	"context"
	"net/netip"
	"slices"

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

func sortedStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
