// Package flowadmin blocks Flow node IDs through a Flow node's own admin
// server: the flow-admin action. A ban puts the node ID on the node's
// network-id-provider-blocklist, an unban takes it off, and a libp2p peer
// ID is first mapped to its node ID by the node itself.
//
// The wire format is flow-go's, read from its source (onflow/flow-go):
//   - admin/admin/admin.proto: service Admin, rpc RunCommand, mapped by
//     grpc-gateway to `post: "/admin/run_command"`, `body: "*"`;
//     RunCommandRequest{string commandName; google.protobuf.Value data},
//     RunCommandResponse{google.protobuf.Value output}. admin/README.md
//     shows the calls with curl against localhost:9002.
//   - admin/server.go: RunCommand passes data.AsInterface() to the command
//     and answers structpb.NewValue(result) as output.
//   - admin/command_runner.go: runCommand answers an unknown command with
//     codes.Unimplemented "invalid command", a validator's
//     InvalidAdminReqError with codes.InvalidArgument, a handler's error
//     with its status (codes.Unknown for a plain error); grpc-gateway's
//     default error handler writes them as {"code", "message", "details"}
//     with HTTP 501, 400 and 500 (runtime.HTTPStatusFromCode).
//   - admin/commands/common/get_config.go: data is the field name (a
//     string); output is field.Get().
//   - admin/commands/common/set_config.go: data is a map of exactly one
//     field to its new value; output is {"oldValue": ..., "newValue": ...},
//     newValue being the value as sent.
//   - module/updatable_configs/manager.go, RegisterIdentifierListConfig:
//     Get returns the IDs as a list of strings (flow.Identifier.String,
//     lower-case hex); Set takes a []any of strings each parsed by
//     flow.HexStringToIdentifier (64 hex characters) and replaces the whole
//     list. cmd/scaffold.go registers it as "network-id-provider-blocklist"
//     over network/p2p/cache/node_disallow_list_wrapper.go, whose
//     GetDisallowList reads a map (the order means nothing) and whose Update
//     stores the new set in the node's database.
//   - admin/commands/common/get_identity.go (registered as
//     "get-latest-identity" in cmd/scaffold.go): data {"peer_id": "..."} or
//     {"flow_id": "..."}; output commands.ConvertToMap(identity), i.e.
//     flow.Identity's JSON (model/flow/identity.go, encodableIdentity) whose
//     "NodeID" is the hex node ID; an unknown peer is a handler error
//     ("no identity found for peer ID: …"). The identity provider is the
//     disallow-list wrapper, so a blocked node's peer ID still maps (it
//     answers the identity as ejected), which is what an unban needs.
//
// Because set-config replaces the whole list, a ban reads the list, adds
// the node ID and writes the list back, keeping every entry the operator
// put there; set-config's oldValue shows when someone changed the list
// between the read and the write, and the merge is then redone on their
// version.
package flowadmin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/action"
	"github.com/peerjail/peerjail/internal/config"
	"github.com/peerjail/peerjail/internal/jail"
)

// BlocklistField is the updatable config field of a Flow node that holds
// the node IDs it refuses to talk to.
const BlocklistField = "network-id-provider-blocklist"

// DefaultTimeout bounds one admin request when the spec gives no timeout.
const DefaultTimeout = 10 * time.Second

// ErrNotIdentity marks a decision on a key that is neither a node ID nor a
// peer ID.
var ErrNotIdentity = errors.New("not a Flow node ID or libp2p peer ID")

// maxPeers bounds the peer ID → node ID cache; past it the cache starts
// over (the node answers again).
const maxPeers = 1 << 16

// rewrites bounds how often one Apply redoes its merge because the list
// changed between its read and its write.
const rewrites = 3

// Action is the flow-admin backend.
type Action struct {
	name string
	jail string
	log  *slog.Logger
	c    client

	// mu makes each read-modify-write of the blocklist one step, so that
	// two of peerjail's own updates never overwrite each other.
	mu sync.Mutex

	peersMu sync.Mutex
	peers   map[string]string // peer ID → node ID
}

var _ action.Action = (*Action)(nil)

// New builds a flow-admin action for spec.URL; it matches action.Constructor.
func New(spec config.ActionSpec, env action.Env) (action.Action, error) {
	return NewAction(spec, env)
}

// NewAction is New with the concrete type, for callers that map keys with
// NodeID.
func NewAction(spec config.ActionSpec, env action.Env) (*Action, error) {
	u, err := checkURL(spec.URL, spec.AllowRemote)
	if err != nil {
		return nil, err
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the admin port is local: never through $HTTP_PROXY
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	endpoint := *u
	if !strings.HasSuffix(endpoint.Path, "/admin/run_command") {
		endpoint.Path = strings.TrimSuffix(endpoint.Path, "/") + "/admin/run_command"
	}
	return &Action{
		name: "flow-admin " + u.Redacted(),
		jail: env.Jail,
		log:  log,
		c: client{
			endpoint: endpoint.String(),
			timeout:  timeout,
			http: &http.Client{
				Transport: tr,
				// A redirect could lead off loopback: answer it as an error.
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			},
		},
		peers: map[string]string{},
	}, nil
}

// checkURL accepts an http(s) URL on loopback, or anywhere with allowRemote.
func checkURL(raw string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("flow-admin: url %q: want http://HOST:PORT (e.g. http://127.0.0.1:9002)", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("flow-admin: url %q: a query or fragment has no meaning here", raw)
	}
	if !allowRemote && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("flow-admin: url %q is not on loopback; a Flow node's admin port should stay on localhost (set allow_remote: true to use it anyway)", u.Redacted())
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// Name is "flow-admin URL" (credentials in the URL hidden).
func (a *Action) Name() string { return a.name }

// Takes node IDs and peer IDs.
func (a *Action) Takes(k jail.Key) bool { return IsNodeID(k.ID) || IsPeerID(k.ID) }

// Held lists the node's blocklist, the operator's own entries included:
// a node ID peerjail banned under a peer ID is held as the node ID (NodeID
// maps one to the other).
func (a *Action) Held(ctx context.Context) ([]action.Held, error) {
	ids, err := a.c.getBlocklist(ctx)
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	out := make([]action.Held, len(ids))
	for i, id := range ids {
		out[i] = action.Held{Jail: a.jail, Key: id}
	}
	return out, nil
}

// Close drops idle connections to the admin server.
func (a *Action) Close() error {
	a.c.http.CloseIdleConnections()
	return nil
}
