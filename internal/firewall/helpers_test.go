package firewall

import (
	"net/netip"
	"slices"
)

func sortedStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
