package flowadmin

import (
	"encoding/json"
	"fmt"
	"strings"
)

// IsNodeID reports whether s is a Flow node ID: 32 bytes in hex, either
// case (what flow.HexStringToIdentifier accepts).
func IsNodeID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// IsPeerID reports whether s has the shape of a libp2p peer ID in its
// usual base58btc text: a sha256 multihash ("Qm…", 46 characters, RSA and
// ECDSA keys) or an identity multihash of an Ed25519 ("12D3KooW…", 52) or
// secp256k1 key ("16Uiu2HA…", 53; what Flow nodes use).
func IsPeerID(s string) bool {
	switch {
	case len(s) == 46 && strings.HasPrefix(s, "Qm"),
		len(s) == 52 && strings.HasPrefix(s, "12D3KooW"),
		len(s) == 53 && strings.HasPrefix(s, "16Uiu2HA"):
	default:
		return false
	}
	const b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(b58, s[i]) < 0 {
			return false
		}
	}
	return true
}

// parseIDList reads get-config's output for the blocklist: a JSON list of
// node IDs (null, which no flow-go version writes, reads as empty). IDs come
// back lower-case, as flow.Identifier.String writes them.
func parseIDList(raw json.RawMessage) ([]string, error) {
	var list []any
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%w: blocklist is not a list: %v", ErrMalformed, err)
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok || !IsNodeID(s) {
			return nil, fmt.Errorf("%w: blocklist entry %d is %s, not a node ID", ErrMalformed, i, short(e))
		}
		out = append(out, strings.ToLower(s))
	}
	return out, nil
}

// parseSetOutput reads set-config's output, {"oldValue": [...], "newValue":
// [...]}, and returns oldValue.
func parseSetOutput(raw json.RawMessage) ([]string, error) {
	var out struct {
		Old json.RawMessage `json:"oldValue"`
		New json.RawMessage `json:"newValue"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%w: set-config output is not an object: %v", ErrMalformed, err)
	}
	if len(out.Old) == 0 || len(out.New) == 0 {
		return nil, fmt.Errorf("%w: set-config output lacks oldValue or newValue", ErrMalformed)
	}
	if _, err := parseIDList(out.New); err != nil {
		return nil, fmt.Errorf("newValue: %w", err)
	}
	old, err := parseIDList(out.Old)
	if err != nil {
		return nil, fmt.Errorf("oldValue: %w", err)
	}
	return old, nil
}

// parseIdentity reads get-latest-identity's output, flow.Identity's JSON,
// and returns its NodeID.
func parseIdentity(raw json.RawMessage) (string, error) {
	var id struct {
		NodeID any `json:"NodeID"`
	}
	if err := json.Unmarshal(raw, &id); err != nil {
		return "", fmt.Errorf("%w: identity is not an object: %v", ErrMalformed, err)
	}
	s, ok := id.NodeID.(string)
	if !ok || !IsNodeID(s) {
		return "", fmt.Errorf("%w: identity's NodeID is %s, not a node ID", ErrMalformed, short(id.NodeID))
	}
	return strings.ToLower(s), nil
}

// short quotes a value for an error, at most about 80 bytes of it: it comes
// from the server and may be anything.
func short(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%T", v)
	}
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
