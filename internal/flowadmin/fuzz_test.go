package flowadmin

import (
	"strings"
	"testing"
)

// The admin server's answers are read as untrusted: whatever the body, the
// parsers return an error or IDs of the right shape, never panic.
func FuzzParseResponse(f *testing.F) {
	f.Add(200, []byte(`{"output":["`+strings.Repeat("ab", 32)+`"]}`))
	f.Add(200, []byte(`{"output":{"oldValue":[],"newValue":[]}}`))
	f.Add(200, []byte(`{"output":{"NodeID":"`+strings.Repeat("0", 64)+`","Role":"execution"}}`))
	f.Add(501, []byte(`{"code":12,"message":"invalid command","details":[]}`))
	f.Add(200, []byte(`{"output":null}`))
	f.Add(502, []byte(`<html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		out, err := parseResponse("get-config", status, body)
		if err != nil {
			return
		}
		if status != 200 || len(out) == 0 {
			t.Fatalf("status %d body %q: output %q without error", status, body, out)
		}
		if ids, err := parseIDList(out); err == nil {
			for _, id := range ids {
				if !IsNodeID(id) || strings.ToLower(id) != id {
					t.Fatalf("parseIDList(%q) gave %q", out, id)
				}
			}
		}
		if old, err := parseSetOutput(out); err == nil {
			for _, id := range old {
				if !IsNodeID(id) {
					t.Fatalf("parseSetOutput(%q) gave %q", out, id)
				}
			}
		}
		if id, err := parseIdentity(out); err == nil && (!IsNodeID(id) || strings.ToLower(id) != id) {
			t.Fatalf("parseIdentity(%q) = %q", out, id)
		}
	})
}

func TestParseIdentityReal(t *testing.T) {
	// flow.Identity's JSON as get-latest-identity answers it (encodableIdentity).
	raw := `{"Address":"execution-001.mainnet.nodes.onflow.org:3569","InitialWeight":100,"NetworkPubKey":"AQID","NodeID":"` +
		strings.Repeat("Ab", 32) + `","ParticipationStatus":"EpochParticipationStatusActive","Role":"execution","StakingPubKey":"AQID"}`
	id, err := parseIdentity([]byte(raw))
	if err != nil || id != strings.Repeat("ab", 32) {
		t.Errorf("parseIdentity = %q, %v", id, err)
	}
}
