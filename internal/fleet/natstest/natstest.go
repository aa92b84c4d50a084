// Package natstest runs real nats-server processes with JetStream on
// loopback ports for tests.
package natstest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binary is the server the tests run: Debian's nats-server package.
const Binary = "nats-server"

// Server is one nats-server process. Its ports and store stay the same
// across Stop and Start, so a restarted server is the same member.
type Server struct {
	t         testing.TB
	Name      string
	Port      int // client port on 127.0.0.1
	httpPort  int
	routePort int
	dir       string
	conf      string
	cmd       *exec.Cmd
	exited    chan struct{}
}

// Options shape a server's config.
type Options struct {
	// Extra is config text added as it is: authorization, accounts.
	Extra string
}

// Need skips t when the nats-server binary is missing.
func Need(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath(Binary); err != nil {
		t.Skipf("%s not installed (Debian package nats-server; .ci/run installs it): %v", Binary, err)
	}
}

// Start runs one server with JetStream, its store under t.TempDir(); it is
// killed in t.Cleanup.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := newServer(t, "n1", o)
	s.writeConfig(o, nil)
	s.Start()
	return s
}

// Cluster runs n servers routed to one another, a JetStream cluster that
// can keep streams of n replicas.
func Cluster(t testing.TB, n int, o Options) []*Server {
	t.Helper()
	ss := make([]*Server, n)
	for i := range ss {
		ss[i] = newServer(t, fmt.Sprintf("n%d", i+1), o)
	}
	for _, s := range ss {
		s.writeConfig(o, ss)
	}
	// A member is healthy only once the cluster has a meta leader, so
	// all start before any is waited for.
	for _, s := range ss {
		s.launch()
	}
	for _, s := range ss {
		s.waitHealthy()
	}
	return ss
}

func newServer(t testing.TB, name string, o Options) *Server {
	Need(t)
	dir := t.TempDir()
	s := &Server{t: t, Name: name, dir: dir, conf: filepath.Join(dir, "nats.conf"),
		Port: freePort(t), httpPort: freePort(t), routePort: freePort(t)}
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) writeConfig(o Options, cluster []*Server) {
	var b strings.Builder
	fmt.Fprintf(&b, "server_name: %s\nlisten: 127.0.0.1:%d\nhttp: 127.0.0.1:%d\n", s.Name, s.Port, s.httpPort)
	fmt.Fprintf(&b, "jetstream {\n  store_dir: %q\n  max_memory_store: 64MB\n  max_file_store: 1GB\n}\n", filepath.Join(s.dir, "js"))
	if len(cluster) > 0 {
		fmt.Fprintf(&b, "cluster {\n  name: peerjail-test\n  listen: 127.0.0.1:%d\n  routes: [\n", s.routePort)
		for _, o := range cluster {
			if o != s {
				fmt.Fprintf(&b, "    nats-route://127.0.0.1:%d\n", o.routePort)
			}
		}
		b.WriteString("  ]\n}\n")
	}
	b.WriteString(o.Extra)
	if err := os.WriteFile(s.conf, []byte(b.String()), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// URL is the server's client URL.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.Port) }

// Start starts the server (again) and waits until it answers /healthz.
func (s *Server) Start() {
	s.t.Helper()
	s.launch()
	s.waitHealthy()
}

func (s *Server) launch() {
	s.t.Helper()
	cmd := exec.Command(Binary, "-c", s.conf)
	log, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", Binary, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { cmd.Wait(); close(exited) }(s.exited)
}

func (s *Server) waitHealthy() {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", s.httpPort))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-s.exited:
			s.t.Fatalf("%s %s exited: %s", Binary, s.Name, s.Log())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s %s not healthy in 20s: %v\n%s", Binary, s.Name, err, s.Log())
		}
	}
}

// Stop ends the server with SIGTERM, as an operator would, and waits.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Kill ends the server with SIGKILL, as a crash would, and waits.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(sig)
		<-s.exited
	}
	s.cmd = nil
}

// Log is the server's output so far, for failure messages.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return string(b)
}

// URLs joins the servers' client URLs for a client's server list.
func URLs(ss ...*Server) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.URL()
	}
	return out
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before the server binds it; the server then fails to start and
// says so.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
