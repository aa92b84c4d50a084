// Package flowadmintest is a Flow node's admin HTTP server for tests: the
// commands peerjail uses (get-config and set-config of
// network-id-provider-blocklist, get-latest-identity, list-commands), with
// the request and response JSON of flow-go's admin server, an identity table
// tests fill in, and a blocklist tests read and seed with an operator's own
// entries.
//
// What it reproduces, from flow-go's source (see internal/flowadmin's
// package comment for the files):
//   - POST /admin/run_command with {"commandName": ..., "data": ...}, the
//     grpc-gateway mapping of admin.proto's RunCommand; a success is HTTP 200
//     with {"output": <the handler's result>};
//   - an error is grpc-gateway's status JSON {"code": <gRPC code>,
//     "message": ..., "details": []} with the HTTP status of that code:
//     an unknown command is Unimplemented (501, "invalid command"), data a
//     validator rejects is InvalidArgument (400), a handler's error is
//     Unknown (500);
//   - get-config's data is the field name, its output the list of
//     lower-case hex node IDs in no particular order (flow-go reads them
//     from a map);
//   - set-config's data is {"network-id-provider-blocklist": [ids...]}, which
//     replaces the whole list; its output {"oldValue": [...], "newValue":
//     <the value as sent>};
//   - get-latest-identity's data is {"peer_id": ...} or {"flow_id": ...}, its
//     output the identity's JSON (NodeID, Address, Role, InitialWeight,
//     StakingPubKey, NetworkPubKey, ParticipationStatus), ejected when the
//     node is on the blocklist, as flow-go's NodeDisallowListWrapper does.
package flowadmintest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
)

// BlocklistField is the updatable config field holding the node IDs a Flow
// node refuses to talk to.
const BlocklistField = "network-id-provider-blocklist"

// gRPC status codes the admin server answers with (google.golang.org/grpc/codes).
const (
	codeUnknown         = 2
	codeInvalidArgument = 3
	codeUnimplemented   = 12
)

// Identity is a node the server knows, found by its peer ID or node ID.
type Identity struct {
	NodeID  string // 64 hex characters
	Role    string // "execution", "consensus", ...
	Address string // "execution-001.example.org:3569"
}

// Server is a running test admin server on a loopback port.
type Server struct {
	srv *httptest.Server

	mu        sync.Mutex
	blocklist map[string]struct{}
	byPeer    map[string]Identity
	canned    map[string]reply
	calls     map[string]int
	hook      func(command string)
	onSet     func(blocklist []string)
}

type reply struct {
	status int
	body   string
}

// New starts a server; it stops in t.Cleanup or with Close.
func New() *Server {
	s := &Server{
		blocklist: map[string]struct{}{},
		byPeer:    map[string]Identity{},
		canned:    map[string]reply{},
		calls:     map[string]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the server's base URL (http://127.0.0.1:PORT), what a flow-admin
// action's url option names.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server; requests after it fail to connect.
func (s *Server) Close() { s.srv.Close() }

// SetIdentity makes get-latest-identity answer id for peerID.
func (s *Server) SetIdentity(peerID string, id Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byPeer[peerID] = id
}

// SetBlocklist replaces the blocklist, as an operator's own set-config would.
func (s *Server) SetBlocklist(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocklist = map[string]struct{}{}
	for _, id := range ids {
		s.blocklist[strings.ToLower(id)] = struct{}{}
	}
}

// Blocklist returns the node IDs on the blocklist, sorted.
func (s *Server) Blocklist() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedBlocklist()
}

// Reply makes every later request for command answer status and body
// verbatim, to test a client's error paths; status 0 removes it.
func (s *Server) Reply(command string, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		delete(s.canned, command)
		return
	}
	s.canned[command] = reply{status, body}
}

// Calls is how many requests named command.
func (s *Server) Calls(command string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[command]
}

// OnCommand calls f with each request's command name before handling it,
// outside the server's lock (f may call SetBlocklist, to play an operator
// who edits the list between a client's get-config and set-config).
func (s *Server) OnCommand(f func(command string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = f
}

// OnSet calls f with the blocklist, sorted, each time a set-config has
// replaced it (the moment a node starts refusing the IDs on it), outside
// the server's lock.
func (s *Server) OnSet(f func(blocklist []string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onSet = f
}

func (s *Server) sortedBlocklist() []string {
	out := make([]string, 0, len(s.blocklist))
	for id := range s.blocklist {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// isNodeID is flow.HexStringToIdentifier's test: 32 bytes of hex, either case.
func isNodeID(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32
}

// isPeerID stands in for libp2p's peer.Decode: a base58btc multihash of the
// lengths libp2p keys give (sha256 46, ed25519 52, secp256k1 53).
func isPeerID(s string) bool {
	const b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	if len(s) < 46 || len(s) > 53 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune(b58, r) {
			return false
		}
	}
	return true
}

// fail is grpc-gateway's DefaultHTTPErrorHandler: the status as JSON, with
// runtime.HTTPStatusFromCode's HTTP status.
func fail(w http.ResponseWriter, code int, format string, args ...any) {
	status := map[int]int{
		codeUnknown:         http.StatusInternalServerError,
		codeInvalidArgument: http.StatusBadRequest,
		codeUnimplemented:   http.StatusNotImplemented,
	}[code]
	writeJSON(w, status, map[string]any{"code": code, "message": fmt.Sprintf(format, args...), "details": []any{}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":13,"message":"marshal","details":[]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
