package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// The operator's everyday commands beyond Handler: a jail's most failing
// hosts in its status, and the daemon's log level. A handler implements
// them optionally, so that a Handler written before them still serves.

// TopHandler lists a jail's failing hosts with its status.
type TopHandler interface {
	// StatusTop is Status with, when jail is named and top > 0, the top
	// hosts of that jail by hits in JailStatus.FailingHosts.
	StatusTop(ctx context.Context, jail string, top int) ([]JailStatus, error)
}

// LogLevelHandler changes the daemon's log level at run time.
type LogLevelHandler interface {
	// LogLevel sets the level to level ("debug", "info", "warn" or
	// "error") unless it is "", and returns the level now.
	LogLevel(ctx context.Context, level string) (string, error)
}

// MaxTop bounds status's list of failing hosts: an answer an operator can
// read, and a walk of the jail's hosts that ends.
const MaxTop = 10000

// LogLevels are the levels log-level accepts.
var LogLevels = []string{"debug", "info", "warn", "error"}

// ParseLogLevel reads one of LogLevels.
func ParseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil || !isLevelWord(s) {
		return 0, fmt.Errorf("log level %q: want one of %s", s, strings.Join(LogLevels, ", "))
	}
	return l, nil
}

func isLevelWord(s string) bool {
	for _, w := range LogLevels {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}

// LevelName is how log-level prints a level: "debug", not "DEBUG-4".
func LevelName(l slog.Level) string { return strings.ToLower(l.String()) }

// checkOps rejects the fields of these commands on other commands.
func (r request) checkOps() error {
	switch {
	case r.Top != 0 && r.Cmd != "status":
		return fmt.Errorf("%s takes no top", r.Cmd)
	case r.Top < 0 || r.Top > MaxTop:
		return fmt.Errorf("top %d: want 0 to %d hosts", r.Top, MaxTop)
	case r.Top > 0 && r.Jail == "":
		return errors.New("top lists one jail's failing hosts: name the jail")
	case r.Level != "" && r.Cmd != "log-level":
		return fmt.Errorf("%s takes no level", r.Cmd)
	case r.Level != "":
		_, err := ParseLogLevel(r.Level)
		return err
	}
	return nil
}

func (s *Server) status(ctx context.Context, req request) ([]JailStatus, error) {
	if t, ok := s.h.(TopHandler); ok {
		return t.StatusTop(ctx, req.Jail, req.Top)
	}
	return s.h.Status(ctx, req.Jail)
}

var errNoLogLevel = errors.New("this daemon's log level cannot be changed at run time")

func (s *Server) logLevel(ctx context.Context, level string) (string, error) {
	l, ok := s.h.(LogLevelHandler)
	if !ok {
		return "", errNoLogLevel
	}
	return l.LogLevel(ctx, level)
}

// StatusTop returns one jail's state with its top failing hosts by hits,
// or every jail's (without hosts) when jail is "".
func (c Client) StatusTop(ctx context.Context, jail string, top int) ([]JailStatus, error) {
	resp, err := c.do(ctx, request{Cmd: "status", Jail: jail, Top: top})
	if err != nil {
		return nil, err
	}
	if resp.Jails == nil {
		return nil, errMalformed("status", "jails")
	}
	return *resp.Jails, nil
}

// LogLevel sets the daemon's log level, unless level is "", and returns
// the level now.
func (c Client) LogLevel(ctx context.Context, level string) (string, error) {
	resp, err := c.do(ctx, request{Cmd: "log-level", Level: level})
	if err != nil {
		return "", err
	}
	if resp.Level == nil {
		return "", errMalformed("log-level", "level")
	}
	return *resp.Level, nil
}
