package flowadmintest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// request is admin.proto's RunCommandRequest as protojson reads it: either
// field name spelling, unknown fields ignored.
type request struct {
	CommandName  string          `json:"commandName"`
	CommandName2 string          `json:"command_name"`
	Data         json.RawMessage `json:"data"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/admin/run_command" {
		fail(w, 5, "Not Found") // NotFound; grpc-gateway's answer to an unrouted path
		return
	}
	if r.Method != http.MethodPost {
		fail(w, codeUnimplemented, "Method Not Allowed")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		fail(w, codeInvalidArgument, "read body: %v", err)
		return
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		fail(w, codeInvalidArgument, "proto: syntax error: %v", err)
		return
	}
	name := req.CommandName
	if name == "" {
		name = req.CommandName2
	}
	var data any
	if len(req.Data) > 0 {
		if err := json.Unmarshal(req.Data, &data); err != nil {
			fail(w, codeInvalidArgument, "proto: syntax error: %v", err)
			return
		}
	}
	s.mu.Lock()
	s.calls[name]++
	hook := s.hook
	canned, isCanned := s.canned[name]
	s.mu.Unlock()
	if hook != nil {
		hook(name)
	}
	if isCanned {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(canned.status)
		_, _ = io.WriteString(w, canned.body)
		return
	}
	s.mu.Lock()
	if name == "set-config" {
		set, onSet := s.setConfig(w, data), s.onSet
		var list []string
		if set && onSet != nil {
			list = s.sortedBlocklist()
		}
		s.mu.Unlock()
		if list != nil {
			onSet(list)
		}
		return
	}
	defer s.mu.Unlock()
	switch name {
	case "get-config":
		s.getConfig(w, data)
	case "get-latest-identity":
		s.getIdentity(w, data)
	case "list-commands":
		writeJSON(w, http.StatusOK, map[string]any{"output": []any{"get-config", "set-config", "get-latest-identity", "list-commands"}})
	default:
		fail(w, codeUnimplemented, "invalid command")
	}
}

func (s *Server) detypedBlocklist() []any {
	out := make([]any, 0, len(s.blocklist))
	for id := range s.blocklist { // map order, as flow-go's GetDisallowList
		out = append(out, id)
	}
	return out
}

// getConfig is flow-go's GetConfigCommand.
func (s *Server) getConfig(w http.ResponseWriter, data any) {
	field, ok := data.(string)
	if !ok {
		fail(w, codeInvalidArgument, "invalid request data format: the data field must be a string")
		return
	}
	if field != BlocklistField {
		fail(w, codeInvalidArgument, "unknown config field: %s", field)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"output": s.detypedBlocklist()})
}

// setConfig is flow-go's SetConfigCommand with the IdentifierList field's
// setter (updatable_configs.Manager.RegisterIdentifierListConfig); it
// reports whether it replaced the list.
func (s *Server) setConfig(w http.ResponseWriter, data any) bool {
	m, ok := data.(map[string]any)
	if !ok {
		fail(w, codeInvalidArgument, "invalid request data format: expected map[string]any")
		return false
	}
	if len(m) != 1 {
		fail(w, codeInvalidArgument, "data field must have 1 entry, got %d", len(m))
		return false
	}
	value, ok := m[BlocklistField]
	if !ok {
		for k := range m {
			fail(w, codeInvalidArgument, "unknown config field: %s", k)
		}
		return false
	}
	list, ok := value.([]any)
	if !ok {
		fail(w, codeUnknown, "config update failed due to invalid input: invalid type for IdentifierList config: %T", value)
		return false
	}
	next := make(map[string]struct{}, len(list))
	for _, e := range list {
		id, ok := e.(string)
		if !ok {
			fail(w, codeUnknown, "config update failed due to invalid input: invalid element type %T for IdentifierList config - should be string", e)
			return false
		}
		if !isNodeID(id) {
			fail(w, codeUnknown, "config update failed due to invalid input: un-parseable id %s found in list: malformed input", id)
			return false
		}
		next[strings.ToLower(id)] = struct{}{}
	}
	old := s.detypedBlocklist()
	s.blocklist = next
	writeJSON(w, http.StatusOK, map[string]any{"output": map[string]any{"oldValue": old, "newValue": value}})
	return true
}

// getIdentity is flow-go's GetIdentityCommand over an identity provider
// wrapped by NodeDisallowListWrapper.
func (s *Server) getIdentity(w http.ResponseWriter, data any) {
	m, ok := data.(map[string]any)
	if !ok {
		fail(w, codeInvalidArgument, "invalid request data format: expected map[string]any")
		return
	}
	if v, ok := m["flow_id"]; ok {
		id, ok := v.(string)
		if !ok || !isNodeID(id) {
			fail(w, codeInvalidArgument, "invalid value for field 'flow_id': must be 64-char hex string. Got: %v", v)
			return
		}
		for _, ident := range s.byPeer {
			if strings.EqualFold(ident.NodeID, id) {
				writeJSON(w, http.StatusOK, map[string]any{"output": s.identityJSON(ident)})
				return
			}
		}
		fail(w, codeUnknown, "no identity found for flow ID: %s", strings.ToLower(id))
		return
	}
	v, ok := m["peer_id"]
	if !ok {
		fail(w, codeInvalidArgument, `either "flow_id" or "peer_id" field is required`)
		return
	}
	pid, ok := v.(string)
	if !ok || !isPeerID(pid) {
		fail(w, codeInvalidArgument, "invalid value for field 'peer_id': must be valid peer id string. Got: %v", v)
		return
	}
	ident, ok := s.byPeer[pid]
	if !ok {
		fail(w, codeUnknown, "no identity found for peer ID: %s", pid)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"output": s.identityJSON(ident)})
}

// identityJSON is flow.Identity's MarshalJSON (encodableIdentity) as
// commands.ConvertToMap and structpb hand it on: numbers as floats, public
// keys as base64 (here absent, as null).
func (s *Server) identityJSON(id Identity) map[string]any {
	status := "EpochParticipationStatusActive"
	if _, ok := s.blocklist[strings.ToLower(id.NodeID)]; ok {
		status = "EpochParticipationStatusEjected"
	}
	out := map[string]any{
		"NodeID":              strings.ToLower(id.NodeID),
		"Role":                id.Role,
		"InitialWeight":       float64(100),
		"StakingPubKey":       nil,
		"NetworkPubKey":       nil,
		"ParticipationStatus": status,
	}
	if id.Address != "" {
		out["Address"] = id.Address
	}
	return out
}

// String names the server in test failures.
func (s *Server) String() string { return fmt.Sprintf("flow admin test server at %s", s.srv.URL) }
