package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"
	"unicode/utf8"
)

// decodeRequest parses one request strictly: unknown fields and trailing
// data are errors, so a misspelt field is reported rather than ignored.
func decodeRequest(line []byte) (request, error) {
	var req request
	if !utf8.Valid(line) {
		return req, errors.New("bad request: not UTF-8 text")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, fmt.Errorf("bad request: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, errors.New("bad request: data after the JSON object")
	}
	if err := req.check(); err != nil {
		// Well-formed but wrong, such as a negative ban length: the
		// operator's mistake, exit code 2.
		return req, invalidError{fmt.Errorf("bad request: %w", err)}
	}
	return req, nil
}

// dispatch runs a checked request on the handler. A handler's error is
// sent as its text, unchanged. A panic in the handler is answered as an
// internal error and logged with its stack: one bad command must not take
// the daemon, and with it the bans' bookkeeping, down.
func (s *Server) dispatch(ctx context.Context, req request) (resp response) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("control command panicked", "cmd", req.Cmd, "panic", r, "stack", string(debug.Stack()))
			resp = failure(fmt.Errorf("internal error in %s: %v (see the daemon's log)", req.Cmd, r))
		}
	}()
	log := s.log.With("cmd", req.Cmd)
	if req.Jail != "" {
		log = log.With("jail", req.Jail)
	}
	var err error
	switch req.Cmd {
	case "status":
		var st []JailStatus
		st, err = s.status(ctx, req)
		if st == nil {
			st = []JailStatus{}
		}
		resp.Jails = &st
	case "ban":
		var b BanResult
		b, err = s.h.Ban(ctx, req.Jail, req.Host, time.Duration(req.For), req.Force)
		resp.Ban = &b
		log = log.With("host", req.Host, "for", req.For, "force", req.Force)
	case "unban":
		var n int
		n, err = s.h.Unban(ctx, req.Jail, req.Host, req.All)
		resp.Lifted = &n
		log = log.With("host", req.Host, "all", req.All, "lifted", n)
	case "reload":
		err = s.h.Reload(ctx)
	case "log-level":
		var lv string
		lv, err = s.logLevel(ctx, req.Level)
		resp.Level = &lv
		log = log.With("level", lv)
	case "fleet":
		fh, ok := s.h.(FleetHandler)
		if !ok {
			err = invalidError{errors.New("this daemon has no fleet")}
			break
		}
		resp.Fleet, err = fh.FleetStatus(ctx)
	}
	if err != nil {
		log.Warn("control command failed", "err", err)
		return failure(err)
	}
	if req.Cmd != "status" && req.Cmd != "fleet" && (req.Cmd != "log-level" || req.Level != "") {
		log.Info("control command")
	}
	resp.OK = true
	return resp
}

// encodeResponse turns resp into its line; a payload JSON cannot carry
// (a time past year 9999) becomes an error answer rather than silence.
func encodeResponse(resp response) []byte {
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(failure(fmt.Errorf("encode response: %w", err)))
	}
	return append(b, '\n')
}
