package filter

import (
	"fmt"
	"strconv"
	"strings"
)

// Spec describes a filter as configured: either Regex or JSON is set.
// The config package builds Specs from YAML (and the embedded stock filters);
// New compiles them.
type Spec struct {
	// Name is the filter's name, for messages ("libp2p-peer-status").
	Name string
	// Description is one line for `peerjail filters`.
	Description string
	Regex       *RegexSpec
	JSON        *JSONSpec
}

// RegexSpec is a fail2ban-style filter.
type RegexSpec struct {
	// Fail are patterns with one <HOST> or <ID> placeholder, or one of each
	// (or a named group (?P<host>...) / (?P<id>...)): the <ID> is blamed when
	// the <HOST> is a relayed libp2p address or did not match. A pattern may
	// start with <PREFIX> (see prefixToken). The first that matches wins.
	Fail []string
	// Ignore are patterns that, when they match, make a failing line ignored.
	Ignore []string
	// Learn are patterns with both <ID> and <HOST> for lines that are no
	// failure but say at which address an identity is (a connection
	// line): they teach the correlation table and count against no one.
	Learn []string
	// Self are patterns with one <ID> for lines in which the node names its
	// own identity ("PeerID: <ID>" at start): it is never banned.
	Self []string
}

// JSONSpec is a filter on the fields of a JSON object.
type JSONSpec struct {
	// Prefix is an optional regex matched at the start of the line; what it
	// matches is stripped before the JSON is read ("ipfs[123]: "). The token
	// "<PREFIX>" (or "<PREFIX:prog|prog2>") instead strips any relay prefix
	// that logprefix recognises: every syslog and journalctl style.
	Prefix string
	// Match holds conditions that must all hold.
	Match []Condition
	// Host is the path of the field that holds the address ("remote_address").
	Host string
	// ID is the path of the field that holds an identity ("peer_id"), used
	// when Host is empty, absent from the line, or a relayed address.
	ID string
	// FallbackIDs are further identity fields, tried in order after ID.
	FallbackIDs []string
	// Time is the path of the field that holds the record's time; empty means
	// "time", "ts" or "timestamp", whichever is present.
	Time string
	// Learn holds conditions for lines that are no failure but name an
	// identity (ID, FallbackIDs) with its address (Host): they teach the
	// correlation table and count against no one. Empty: none.
	Learn []Condition
	// SelfID is the path of a field that holds the node's own identity
	// (flow-go's node_id), which is never banned.
	SelfID string
	// AlsoID is the path of a field that names the same peer as ID by
	// another identity (flow-go's remote_node_id beside peer_id). A Learn
	// line teaches its address for both, so that a ban of either identity
	// bans it. Failure lines are not read for it: flow-go writes
	// remote_node_id "unknown" on the rejection of a peer it cannot
	// identify.
	AlsoID string
}

// Condition is one test on the field at Path ("a.b" descends into objects).
// Exactly one of the value kinds is used, per Op.
type Condition struct {
	Path string
	Op   Op
	// Values for OpEqual (one value) and OpOneOf (several). A value is a string,
	// float64, bool or nil (JSON null). The bool true also matches the string
	// "true" (and false matches "false"), because loggers write both.
	Values []any
	// Regex for OpRegex, matched against a string value or the text of a number.
	Regex string
	// Exists for OpExists: whether the field must be present (true) or absent.
	Exists bool
}

// Op is the kind of a Condition.
type Op uint8

const (
	OpEqual Op = iota
	OpOneOf
	OpRegex
	OpExists
)

// String renders the condition as the config file would write it.
func (c Condition) String() string {
	switch c.Op {
	case OpEqual:
		return fmt.Sprintf("%s == %s", c.Path, formatValue(c.Values[0]))
	case OpOneOf:
		vs := make([]string, len(c.Values))
		for i, v := range c.Values {
			vs[i] = formatValue(v)
		}
		return fmt.Sprintf("%s in [%s]", c.Path, strings.Join(vs, ", "))
	case OpRegex:
		return fmt.Sprintf("%s =~ /%s/", c.Path, c.Regex)
	case OpExists:
		if c.Exists {
			return c.Path + " exists"
		}
		return c.Path + " absent"
	}
	return c.Path + " ?"
}

func formatValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}
