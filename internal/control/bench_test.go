package control

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
)

// BenchmarkStatusRoundTrip is one `peerjail status` over the socket: dial,
// peer check, request, handler, answer.
func BenchmarkStatusRoundTrip(b *testing.B) {
	h := &fakeHandler{jails: sampleJails()}
	srv, err := Listen(sockPath(b), h, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Serve(ctx)
	c := Client{Path: srv.path}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Status(context.Background(), ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRespond is the server's share without the socket.
func BenchmarkRespond(b *testing.B) {
	s := &Server{h: &fakeHandler{lifted: 1}, log: slog.New(slog.DiscardHandler)}
	req := []byte(`{"cmd":"unban","jail":"sshd","host":"192.0.2.1"}` + "\n")
	b.ReportAllocs()
	for b.Loop() {
		if resp := s.respond(context.Background(), bytes.NewReader(req)); !resp.OK {
			b.Fatal(resp.Error)
		}
	}
}
