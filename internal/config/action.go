package config

import "time"

// ActionSpec is one entry of a jail's `actions:` list (the `action:` key is
// a shorthand for a list of one entry without options). Each type reads
// only its own options; any other key is a config error.
type ActionSpec struct {
	Type ActionType
	// Pos is where the entry is written ("peerjail.yaml:12:9"), for errors
	// found after loading (a backend that cannot start).
	Pos string

	// URL is the flow-admin server ("http://127.0.0.1:9002") or the
	// webhook's target.
	URL string
	// AllowRemote lets a flow-admin URL name a host other than loopback.
	AllowRemote bool
	// Timeout bounds one request (flow-admin, webhook) or one run of the
	// program (exec).
	Timeout time.Duration
	// Retries is how often a failed delivery is tried again, with backoff,
	// before it is dropped and counted (webhook, exec).
	Retries int
	// Queue bounds the decisions waiting for the action; when it is full
	// the oldest is dropped and counted.
	Queue int
	// Template, when set, is a text/template that renders the webhook's
	// body (a Slack- or Discord-compatible {"text": …} for instance)
	// instead of the JSON document of the decision.
	Template string
	// Headers are extra HTTP headers of the webhook's requests.
	Headers map[string]string
	// Ban and Unban are the program and its arguments that exec runs, with
	// placeholders ({jail}, {key}, {action}, {until}, …) replaced in each
	// argument; never through a shell.
	Ban, Unban []string
	// Concurrency limits how many runs of the program exec starts at once.
	Concurrency int
}

// ActionType names a backend.
type ActionType string

const (
	// ActionNFTables bans addresses and prefixes in the kernel, in
	// peerjail's nftables table.
	ActionNFTables ActionType = "nftables"
	// ActionDryRun only logs the bans the jail decides; they are counted,
	// stored and listed like any other, but nothing drops a packet.
	ActionDryRun ActionType = "dry-run"
	// ActionFlowAdmin blocks node IDs through a Flow node's admin server.
	ActionFlowAdmin ActionType = "flow-admin"
	// ActionWebhook POSTs each decision with its evidence to a URL.
	ActionWebhook ActionType = "webhook"
	// ActionExec runs a program for each decision.
	ActionExec ActionType = "exec"
)
