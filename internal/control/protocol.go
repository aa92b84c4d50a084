// Package control is the command protocol between the daemon and the CLI over a unix socket.
//
// One request per connection: a JSON object on one line, at most 64 KiB,
// answered by one JSON object on one line. Requests:
//
//	{"cmd":"status","jail":""}                      "" = every jail
//	{"cmd":"status","jail":J,"top":10}              with J's 10 most failing hosts
//	{"cmd":"ban","jail":J,"host":H,"for":"1h"}      "for" omitted: the jail's own ban length
//	{"cmd":"ban","jail":J,"host":H,"force":true}    also an address the jail never bans
//	{"cmd":"unban","jail":J,"host":H}
//	{"cmd":"unban","jail":J,"all":true}
//	{"cmd":"unban","host":H}                        no jail: in every jail (also with "all")
//	{"cmd":"reload"}
//	{"cmd":"log-level","level":"debug"}            "" = only report it
//	{"cmd":"fleet"}                                 the fleet's status
//
// Responses are {"ok":false,"error":"..."} or {"ok":true, ...}, where the
// payload is "jails" ([]JailStatus) for status, "ban" (BanResult) for ban,
// "lifted" (a count) for unban, "level" (the level now) for log-level and
// "fleet" (the fleet package's Status) for fleet. Durations are Go duration
// text ("1h2m3s"), times RFC 3339.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DefaultSocket is where the daemon listens unless configured otherwise.
const DefaultSocket = "/run/peerjail/peerjail.sock"

// MaxRequest bounds a request line, newline included: a request is a few
// names, so anything larger is a mistake or an attack.
const MaxRequest = 64 << 10

// ErrNoDaemon is returned, wrapped with the socket path, when nothing
// answers on the socket.
var ErrNoDaemon = errors.New("no peerjail daemon is running")

// ErrAlreadyRunning is returned by Listen when a live daemon holds the socket.
var ErrAlreadyRunning = errors.New("another peerjail daemon is listening")

// errNotRoot is the refusal a client of another uid reads.
var errNotRoot = errors.New("permission denied: peerjail's control socket is for root")

// Handler carries out commands; the daemon implements it. Errors reach the
// CLI as their text, so they should read well on their own.
type Handler interface {
	// Status reports one jail, or all jails when jail is "".
	Status(ctx context.Context, jail string) ([]JailStatus, error)
	// Ban bans host in jail for d; d == 0 means the jail's computed ban
	// length. force bans an address the jail would never ban (ignoreip,
	// the host's own addresses), which is refused otherwise.
	Ban(ctx context.Context, jail, host string, d time.Duration, force bool) (BanResult, error)
	// Unban lifts host's ban, or every ban of the jail when all is set, and
	// returns how many bans it lifted; jail "" means in every jail.
	Unban(ctx context.Context, jail, host string, all bool) (int, error)
	// Reload re-reads the configuration; an invalid one keeps the running
	// configuration and is returned as the error, with its file:line:col.
	Reload(ctx context.Context) error
}

// FleetHandler is the optional part of a Handler that answers `fleet`:
// the fleet's status as JSON, which this package passes on unread so that
// it needs nothing of the fleet's.
type FleetHandler interface {
	FleetStatus(ctx context.Context) (json.RawMessage, error)
}

// ErrInvalid marks a handler error caused by what the operator gave (a bad
// configuration on reload, an unknown jail, a malformed host). It crosses
// the socket as "invalid":true, and the client's *RemoteError matches it
// with errors.Is, so the CLI can exit with the usage/config code.
var ErrInvalid = errors.New("invalid request or configuration")

// invalidError marks err as the operator's, keeping its text.
type invalidError struct{ error }

func (e invalidError) Unwrap() error        { return e.error }
func (e invalidError) Is(target error) bool { return target == ErrInvalid }

// RemoteError is an error the daemon answered with. Its text is the
// daemon's, unchanged, so the CLI can print it as is.
type RemoteError struct {
	Msg     string
	Invalid bool
}

func (e *RemoteError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrInvalid) true for invalid-input answers.
func (e *RemoteError) Is(target error) bool { return e.Invalid && target == ErrInvalid }

// Duration is a time.Duration that reads and writes as text ("1h2m3s") in JSON.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes Go duration text, so JSON carries "1h0m0s", not nanoseconds.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads Go duration text.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want e.g. 90s, 10m, 1h30m", b)
	}
	*d = Duration(v)
	return nil
}

// request is the wire form of a command.
type request struct {
	Cmd   string   `json:"cmd"`
	Jail  string   `json:"jail,omitempty"`
	Host  string   `json:"host,omitempty"`
	For   Duration `json:"for,omitempty"`
	All   bool     `json:"all,omitempty"`
	Force bool     `json:"force,omitempty"`
	Top   int      `json:"top,omitempty"`   // status: failing hosts to list
	Level string   `json:"level,omitempty"` // log-level
}

// response is the wire form of an answer; at most one payload is set.
type response struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Invalid is set with Error when the handler's error wraps ErrInvalid.
	Invalid bool            `json:"invalid,omitempty"`
	Jails   *[]JailStatus   `json:"jails,omitempty"`
	Ban     *BanResult      `json:"ban,omitempty"`
	Lifted  *int            `json:"lifted,omitempty"`
	Level   *string         `json:"level,omitempty"`
	Fleet   json.RawMessage `json:"fleet,omitempty"`
}

func failure(err error) response {
	return response{Error: err.Error(), Invalid: errors.Is(err, ErrInvalid)}
}

// check rejects requests whose fields do not fit their command, so a typo
// such as an unban without a host cannot mean something else.
func (r request) check() error {
	if err := r.checkOps(); err != nil {
		return err
	}
	switch r.Cmd {
	case "status":
		if r.Host != "" || r.All || r.For != 0 || r.Force {
			return errors.New("status takes only a jail")
		}
	case "ban":
		if r.Jail == "" || r.Host == "" || r.All {
			return errors.New("ban needs a jail and a host")
		}
		if r.For < 0 {
			return fmt.Errorf("ban for %s: the length must be positive", r.For)
		}
	case "unban":
		if (r.Host == "") == !r.All || r.For != 0 || r.Force {
			return errors.New("unban needs either a host or all (and a jail, or none for every jail)")
		}
	case "reload":
		if r.Jail != "" || r.Host != "" || r.All || r.For != 0 || r.Force {
			return errors.New("reload takes no arguments")
		}
	case "log-level":
		if r.Jail != "" || r.Host != "" || r.All || r.For != 0 || r.Force {
			return errors.New("log-level takes only a level")
		}
	case "fleet":
		if r.Jail != "" || r.Host != "" || r.All || r.For != 0 || r.Force || r.Level != "" {
			return errors.New("fleet takes no arguments")
		}
	default:
		return fmt.Errorf("unknown command %q (want status, ban, unban, reload, log-level or fleet)", r.Cmd)
	}
	return nil
}
