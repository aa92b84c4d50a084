package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// DefaultClientTimeout bounds a whole command; reload may read and compile
// a large configuration, so it is longer than the server's read deadline.
const DefaultClientTimeout = 30 * time.Second

// maxResponse bounds what the client reads: status of a jail with many
// thousands of bans is a few MiB.
const maxResponse = 256 << 20

// Client sends commands to the daemon. The zero value uses DefaultSocket
// and DefaultClientTimeout.
type Client struct {
	Path    string
	Timeout time.Duration
}

// Status returns one jail's state, or every jail's when jail is "".
func (c Client) Status(ctx context.Context, jail string) ([]JailStatus, error) {
	resp, err := c.do(ctx, request{Cmd: "status", Jail: jail})
	if err != nil {
		return nil, err
	}
	if resp.Jails == nil {
		return nil, errMalformed("status", "jails")
	}
	return *resp.Jails, nil
}

// Ban bans host in jail for d, or for the jail's own ban length when d is 0;
// force bans also an address the jail never bans.
func (c Client) Ban(ctx context.Context, jail, host string, d time.Duration, force bool) (BanResult, error) {
	resp, err := c.do(ctx, request{Cmd: "ban", Jail: jail, Host: host, For: Duration(d), Force: force})
	if err != nil {
		return BanResult{}, err
	}
	if resp.Ban == nil {
		return BanResult{}, errMalformed("ban", "ban")
	}
	return *resp.Ban, nil
}

// Unban lifts host's ban in jail, or all of the jail's bans, and returns
// how many it lifted.
func (c Client) Unban(ctx context.Context, jail, host string, all bool) (int, error) {
	resp, err := c.do(ctx, request{Cmd: "unban", Jail: jail, Host: host, All: all})
	if err != nil {
		return 0, err
	}
	if resp.Lifted == nil {
		return 0, errMalformed("unban", "lifted")
	}
	return *resp.Lifted, nil
}

// Reload asks the daemon to re-read its configuration.
func (c Client) Reload(ctx context.Context) error {
	_, err := c.do(ctx, request{Cmd: "reload"})
	return err
}

// FleetStatus returns the fleet's status as the daemon wrote it (the
// fleet package's Status in JSON).
func (c Client) FleetStatus(ctx context.Context) (json.RawMessage, error) {
	resp, err := c.do(ctx, request{Cmd: "fleet"})
	if err != nil {
		return nil, err
	}
	if resp.Fleet == nil {
		return nil, errMalformed("fleet", "fleet")
	}
	return resp.Fleet, nil
}

func errMalformed(cmd, field string) error {
	return fmt.Errorf("%s: daemon's answer has no %q", cmd, field)
}

// do sends req and reads the answer; an answer with ok false comes back
// as a *RemoteError.
func (c Client) do(ctx context.Context, req request) (response, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return response{}, err
	}
	defer conn.Close()
	stop := afterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	resp, err := exchange(conn, req)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%s: %w", req.Cmd, ctx.Err())
	}
	return resp, err
}

func (c Client) dial(ctx context.Context) (net.Conn, error) {
	path, timeout := c.Path, c.Timeout
	if path == "" {
		path = DefaultSocket
	}
	if timeout <= 0 {
		timeout = DefaultClientTimeout
	}
	// The caller's ctx is watched by do; the deadline here is Timeout's
	// alone, so a cancelled ctx is reported as such.
	deadline := time.Now().Add(timeout)
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "unix", path)
	switch {
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED):
		return nil, fmt.Errorf("%w (nothing answers on %s)", ErrNoDaemon, path)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("%w (the control socket is for root)", err)
	case err != nil:
		return nil, err
	}
	_ = conn.SetDeadline(deadline)
	return conn, nil
}

// exchange writes req to rw and reads one answer from it.
func exchange(rw io.ReadWriter, req request) (response, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return response{}, fmt.Errorf("%s: %w", req.Cmd, err)
	}
	// A failed write shows as a missing answer: a refused client may
	// read its refusal although the daemon closed before reading.
	_, _ = rw.Write(append(b, '\n'))
	var resp response
	dec := json.NewDecoder(io.LimitReader(rw, maxResponse))
	if err := dec.Decode(&resp); err != nil {
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
			err = errors.New("daemon closed the connection without answering")
		case errors.Is(err, os.ErrDeadlineExceeded):
			err = errors.New("daemon did not answer in time")
		}
		return response{}, fmt.Errorf("%s: %w", req.Cmd, err)
	}
	if !resp.OK {
		if resp.Error == "" {
			resp.Error = req.Cmd + ": daemon refused without saying why"
		}
		return response{}, &RemoteError{Msg: resp.Error, Invalid: resp.Invalid}
	}
	return resp, nil
}
