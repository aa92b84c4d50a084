package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
)

// FuzzRequest feeds anything a client might send through request reading,
// parsing and dispatch: the answer is always valid JSON, an error names a
// reason, and the handler runs only for a request that passed its checks.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		`{"cmd":"status","jail":""}` + "\n",
		`{"cmd":"ban","jail":"sshd","host":"192.0.2.1","for":"1h"}` + "\n",
		`{"cmd":"unban","jail":"sshd","all":true}`,
		`{"cmd":"reload"}` + "\n",
		`{"cmd":"ban","jail":"j","host":"h","for":"-1h"}`,
		"\x00\xff\n",
		`{"cmd":"status"} trailing`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := &fakeHandler{jails: sampleJails(), lifted: 1}
		s := &Server{h: h, log: slog.New(slog.DiscardHandler)}
		resp := s.respond(context.Background(), bytes.NewReader(data))
		line := encodeResponse(resp)
		var back response
		if err := json.Unmarshal(line, &back); err != nil {
			t.Fatalf("answer %q is not JSON: %v", line, err)
		}
		calls := h.callLog()
		if !back.OK {
			if back.Error == "" || len(calls) != 0 {
				t.Fatalf("refusal %q with handler calls %q", line, calls)
			}
			return
		}
		if len(calls) != 1 {
			t.Fatalf("accepted %q with handler calls %q", data, calls)
		}
		n := 0
		for _, set := range []bool{back.Jails != nil, back.Ban != nil, back.Lifted != nil} {
			if set {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("answer %q carries %d payloads", line, n)
		}
	})
}

// rw answers a client's exchange with canned bytes.
type rw struct{ io.Reader }

func (rw) Write(b []byte) (int, error) { return len(b), nil }

// FuzzResponse: whatever a daemon answers, the client returns a result
// only for an ok answer and otherwise an error with text.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		`{"ok":true,"lifted":3}` + "\n",
		`{"ok":false,"error":"no jail \"x\""}` + "\n",
		`{"ok":false}`,
		`{"ok":true,"jails":[{"name":"sshd","banned":[{"host":"h","until":"2024-07-27T12:00:00Z","remaining":"1m0s"}]}]}`,
		`{"ok":true,"ban":{"duration":"1x"}}`,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		resp, err := exchange(rw{bytes.NewReader(data)}, request{Cmd: "status"})
		var re *RemoteError
		switch {
		case err == nil && !resp.OK:
			t.Fatalf("%q: no error for a refusal", data)
		case errors.As(err, &re) && re.Msg == "":
			t.Fatalf("%q: remote error without text", data)
		case err != nil && err.Error() == "":
			t.Fatalf("%q: error without text", data)
		}
	})
}
