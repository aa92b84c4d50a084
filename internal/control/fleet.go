package control

import (
	"fmt"
	"strings"
)

// fleetText is a jail's fleet line in the text of `peerjail status`.
func fleetText(f JailFleet) string {
	var parts []string
	if f.Publish {
		parts = append(parts, "publishes its bans")
	}
	if f.Quorum > 0 {
		parts = append(parts, fmt.Sprintf("bans at a quorum of %d", f.Quorum))
	}
	conn := "connected"
	if !f.Connected {
		conn = "UNREACHABLE: bans go on locally, reports are queued"
	}
	return strings.Join(append(parts, conn), ", ")
}

// fleetMark follows a fleet ban's enforcement with its reporters.
func fleetMark(b Banned) string {
	if b.Source == "" {
		return ""
	}
	return fmt.Sprintf(", %s (%s)", b.Source, strings.Join(b.Reporters, ", "))
}

// fleetNote follows a jail's actions in the summary when its fleet is
// away: its bans go on, the others' do not reach it.
func fleetNote(s JailStatus) string {
	if s.Fleet == nil || s.Fleet.Connected {
		return ""
	}
	return ", fleet UNREACHABLE"
}
