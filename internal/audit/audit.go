// Package audit keeps peerjail's audit trail: one JSON line per decision in an append-only, size-rotated file.
//
// The trail is what an operator reads after the fact (`peerjail history`,
// `peerjail report`) and hands to others: every ban, unban, escalation,
// manual command and reload, with the jail, the key, what each action made
// of it and the evidence. It is written beside the state file
// (<state dir>/audit.jsonl, rotated to audit.jsonl.1 … .N) and is never a
// reason to stop banning: a write that fails drops its records, counts them
// and logs once, and the caller goes on.
package audit

import (
	"time"
)

// FileName is the trail's current file in the state directory; rotated
// files carry a suffix .1 (the newest) to .N.
const FileName = "audit.jsonl"

// MaxEvidence bounds the lines a record carries.
const MaxEvidence = 10

// Events of Record.Event.
const (
	EventBan        = "ban"
	EventUnban      = "unban"
	EventEscalation = "escalation" // a ban of a wider IPv6 prefix than the jail's bans had (EscalatedFrom)
	EventReload     = "reload"
	// EventAction is a queued action's answer to a decision recorded
	// before: applied (ok) or given up on (error).
	EventAction = "action"
)

// Origins of Record.By.
const (
	ByJail   = "jail"   // the jail counted maxretry hits
	ByExpiry = "expiry" // the ban's time was up
	ByManual = "manual" // a command on the control socket (UID says whose)
	BySignal = "signal" // SIGHUP or systemctl reload
	ByFleet  = "fleet"  // a quorum of the fleet's reporters (Reporters says whose)
)

// Record is one line of the trail. Its JSON form is a contract
// (docs/architecture.md): fields may be added, none renamed or removed.
// Times are RFC 3339 in UTC; absent fields are left out.
type Record struct {
	// Time is the daemon's clock when the record was made.
	Time  time.Time `json:"time"`
	Event string    `json:"event"`
	By    string    `json:"by,omitempty"`
	// UID is the caller's user id, from the kernel (SO_PEERCRED), for a
	// command given on the control socket.
	UID  *uint32 `json:"uid,omitempty"`
	Jail string  `json:"jail,omitempty"`
	// Key is the banned key: an address, an IPv6 prefix or an identity.
	Key string `json:"key,omitempty"`
	// Addrs are, for an identity, the addresses it was seen at.
	Addrs []string `json:"addrs,omitempty"`
	// At is a ban's decisive hit (or the command's time); Until its end.
	At       time.Time `json:"at,omitzero"`
	Until    time.Time `json:"until,omitzero"`
	Hits     int       `json:"hits,omitempty"`
	Offences int       `json:"offences,omitempty"`
	// EscalatedFrom is, for an escalation, the prefix length the jail's
	// bans of this network had before.
	EscalatedFrom int `json:"escalated_from,omitempty"`
	// Filter, Policy and Sources describe the jail when it decided.
	Filter  string   `json:"filter,omitempty"`
	Policy  *Policy  `json:"policy,omitempty"`
	Sources []string `json:"sources,omitempty"`
	// Evidence are the matched lines behind a ban, oldest first, at most
	// MaxEvidence.
	Evidence []string `json:"evidence,omitempty"`
	// Actions are what each of the jail's actions made of the decision;
	// absent when none takes such a key (an identity in an nftables jail).
	Actions []Result `json:"actions,omitempty"`
	// Reporters are, for a fleet ban or unban, the fleet's reporters that
	// made it (for an unban, those left).
	Reporters []string `json:"reporters,omitempty"`
	// OK and Error are a reload's outcome; Config is the file it read.
	OK     *bool  `json:"ok,omitempty"`
	Error  string `json:"error,omitempty"`
	Config string `json:"config,omitempty"`
}

// Policy is a jail's counting policy as the trail records it.
type Policy struct {
	FindTime string `json:"findtime"`
	MaxRetry int    `json:"maxretry"`
	BanTime  string `json:"bantime"`
}

// Result is what one action made of a decision.
type Result struct {
	Action string `json:"action"` // the action's name, as status shows it
	OK     bool   `json:"ok"`
	// Queued is set for an action that works through a queue of its own
	// (flow-admin, webhook, exec): it was handed the decision, and its
	// answer is a later record of event "action".
	Queued bool   `json:"queued,omitempty"`
	Error  string `json:"error,omitempty"`
}
