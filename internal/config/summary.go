package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Summary describes each enabled jail in one line, for `peerjail check`:
//
//	libp2p: filter libp2p-peer-status, files /var/log/ipfs/*.log, maxretry 90 in 3m, ban 1h (×2 up to 1w), ipv6 /64, ports 4001 tcp, action nftables
func (c *Config) Summary() []string {
	lines := make([]string, len(c.Jails))
	for i := range c.Jails {
		lines[i] = c.Jails[i].summary()
	}
	return lines
}

// FleetSummary describes the fleet: section in one line for `peerjail
// check`, or is empty without one:
//
//	fleet: servers nats://127.0.0.1:4222, reporter host-a, creds /etc/peerjail/fleet.creds, stream PEERJAIL (peerjail.reports.<reporter>.<jail>, 1 replicas), publish libp2p
func (c *Config) FleetSummary() string {
	if c.Fleet == nil {
		return ""
	}
	return c.Fleet.summary()
}

// IncludeSummary describes each included file in one line, for `peerjail
// check`, so that an operator sees which drop-ins were read:
//
//	include /etc/peerjail/jails.d/ipfs.yaml: jails ipfs, ipfs-dht (disabled); filters my-ipfs
func (c *Config) IncludeSummary() []string {
	enabled := make(map[string]bool, len(c.Jails))
	for _, j := range c.Jails {
		enabled[j.Name] = true
	}
	lines := make([]string, len(c.Includes))
	for i, inc := range c.Includes {
		var parts []string
		if len(inc.Jails) > 0 {
			names := make([]string, len(inc.Jails))
			for k, name := range inc.Jails {
				names[k] = name
				if !enabled[name] {
					names[k] += " (disabled)"
				}
			}
			parts = append(parts, "jails "+strings.Join(names, ", "))
		}
		if len(inc.Filters) > 0 {
			parts = append(parts, "filters "+strings.Join(inc.Filters, ", "))
		}
		if len(parts) == 0 {
			parts = append(parts, "defines nothing")
		}
		lines[i] = "include " + inc.Path + ": " + strings.Join(parts, "; ")
	}
	return lines
}

func (j *Jail) summary() string {
	p := &j.Policy
	parts := []string{
		"filter " + j.FilterName,
		j.sourceSummary(),
		fmt.Sprintf("maxretry %d in %s", p.MaxRetry, formatDuration(p.FindTime)),
		"ban " + formatDuration(p.BanTime),
	}
	if p.Increment.Factor > 1 {
		parts[3] += fmt.Sprintf(" (×%s up to %s)", strconv.FormatFloat(p.Increment.Factor, 'g', -1, 64), formatDuration(p.Increment.MaxTime))
	}
	if j.Recidive != nil {
		parts = parts[1:]
		parts[0] = j.Recidive.summary()
	}
	parts = append(parts, fmt.Sprintf("ipv6 /%d", p.IPv6Prefix)+escalationSummary(p.Escalation), j.portSummary(), "action "+ActionNames(j.Actions))
	if j.DatePattern != "" {
		parts = append(parts, "dates "+j.DatePattern)
	}
	if j.MaxClockSkew != DefaultMaxClockSkew {
		parts = append(parts, "clock skew "+formatDuration(j.MaxClockSkew))
	}
	if j.Fleet != nil {
		parts = append(parts, j.Fleet.summary())
	}
	return j.Name + ": " + strings.Join(parts, ", ")
}

func (j *Jail) sourceSummary() string {
	switch {
	case len(j.Files) > 0:
		return "files " + strings.Join(j.Files, " ")
	case len(j.Journal) > 0:
		return "journal " + strings.Join(j.Journal, " or ")
	}
	return "no source"
}

func (j *Jail) portSummary() string {
	if len(j.Ports) == 0 {
		if j.Protocol == "all" {
			return "all ports"
		}
		return "all " + j.Protocol + " ports"
	}
	ports := make([]string, len(j.Ports))
	for i, r := range j.Ports {
		ports[i] = r.String()
	}
	proto := j.Protocol
	if proto == "all" {
		proto = "tcp+udp"
	}
	return "ports " + strings.Join(ports, ",") + " " + proto
}
