package control

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// DefaultTimeout bounds reading a request and writing its answer.
const DefaultTimeout = 10 * time.Second

// Server answers CLI commands on a unix socket.
type Server struct {
	// Timeout is each connection's read deadline and, once the handler
	// is done, its write deadline, so a stuck client cannot pin a
	// goroutine. Set it before Serve.
	Timeout time.Duration

	path  string
	ln    *net.UnixListener
	h     Handler
	log   *slog.Logger
	uid   uint32 // the daemon's own, trusted like root
	once  sync.Once
	cerr  error
	conns sync.WaitGroup
}

// Listen creates the socket at path, mode 0600, making its directory
// (0700) if missing. A socket file left by a crashed daemon is replaced;
// a live daemon's is not, and Listen returns ErrAlreadyRunning.
func Listen(path string, h Handler, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// Between bind and chmod the umask's mode applies; the peer check
	// in every connection covers that moment.
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return &Server{Timeout: DefaultTimeout, path: path, ln: ln, h: h, log: log, uid: uint32(os.Getuid())}, nil
}

// removeStale clears the way for a new socket: nothing there is fine, a
// socket nobody answers on is a crashed daemon's, anything else stays.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control socket: %s exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("control socket %s: %w", path, ErrAlreadyRunning)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control socket: probe %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control socket: remove stale %s: %w", path, err)
	}
	return nil
}

// Serve answers connections until ctx is done or Close is called, then
// waits for the connections in flight and returns. The socket file is
// gone when it returns.
func (s *Server) Serve(ctx context.Context) error {
	stop := afterFunc(ctx, func() { _ = s.Close() })
	defer stop()
	defer s.conns.Wait()
	var backoff time.Duration
	for {
		conn, err := s.ln.AcceptUnix()
		if errors.Is(err, net.ErrClosed) {
			return s.Close()
		}
		if err != nil {
			// Out of file descriptors and the like: wait rather than spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("control socket accept", "err", err)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.conns.Add(1)
		go func() {
			defer s.conns.Done()
			s.serveConn(ctx, conn)
		}()
	}
}

// Close stops listening and removes the socket file; it is safe to call
// more than once, and from a daemon that never got to Serve.
func (s *Server) Close() error {
	s.once.Do(func() {
		if err := s.ln.Close(); err != nil {
			s.cerr = fmt.Errorf("close control socket: %w", err)
		}
	})
	return s.cerr
}

func (s *Server) serveConn(ctx context.Context, conn *net.UnixConn) {
	defer conn.Close()
	// At shutdown, unblock a read or write in progress at once.
	stop := afterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	var resp response
	if uid, err := peerUID(conn); err != nil {
		s.log.Warn("control connection refused", "err", err)
		resp = failure(errNotRoot)
	} else if uid != 0 && uid != s.uid {
		s.log.Warn("control connection refused", "uid", uid)
		resp = failure(errNotRoot)
	} else {
		_ = conn.SetReadDeadline(time.Now().Add(s.Timeout))
		resp = s.respond(WithCaller(ctx, uid), conn)
	}
	_ = conn.SetWriteDeadline(time.Now().Add(s.Timeout))
	if _, err := conn.Write(encodeResponse(resp)); err != nil {
		s.log.Debug("control response not delivered", "err", err)
	}
}

// respond reads one request from r and carries it out.
func (s *Server) respond(ctx context.Context, r io.Reader) response {
	line, err := readLine(r)
	if err != nil {
		return failure(err)
	}
	req, err := decodeRequest(line)
	if err != nil {
		return failure(err)
	}
	return s.dispatch(ctx, req)
}

// readLine reads the request line, which may end at EOF instead of a
// newline, refusing it past MaxRequest.
func readLine(r io.Reader) ([]byte, error) {
	br := bufio.NewReader(io.LimitReader(r, MaxRequest+1))
	line, err := br.ReadBytes('\n')
	switch {
	case len(line) > MaxRequest:
		return nil, fmt.Errorf("request larger than %d KiB", MaxRequest>>10)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, errors.New("timed out waiting for a request")
	case err != nil && !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("read request: %w", err)
	case len(line) == 0:
		return nil, errors.New("empty request")
	}
	return line, nil
}
