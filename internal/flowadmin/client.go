package flowadmin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// ErrMalformed marks an admin server answer peerjail cannot read: not the
// JSON flow-go's admin server writes, or a value of the wrong shape.
var ErrMalformed = errors.New("malformed admin server response")

// CommandError is an admin server's refusal of a command: grpc-gateway's
// status JSON with its HTTP status.
type CommandError struct {
	Command string
	// HTTPStatus is the response's status (400 for data the command rejects,
	// 501 for an unknown command, 500 for a handler's error).
	HTTPStatus int
	// Code is the gRPC status code in the body, -1 when the body had none.
	Code    int
	Message string
}

func (e *CommandError) Error() string {
	if e.Code < 0 {
		return fmt.Sprintf("admin command %s: HTTP %d: %s", e.Command, e.HTTPStatus, e.Message)
	}
	return fmt.Sprintf("admin command %s: HTTP %d (code %d): %s", e.Command, e.HTTPStatus, e.Code, e.Message)
}

// maxResponse bounds what is read of an answer: a blocklist of 10,000
// node IDs is under 700 kB.
const maxResponse = 8 << 20

// client runs admin commands over HTTP, one request each, bounded by timeout.
type client struct {
	endpoint string // http://127.0.0.1:9002/admin/run_command
	http     *http.Client
	timeout  time.Duration
}

// run sends one command and returns its output, the raw JSON value.
func (c *client) run(ctx context.Context, command string, data any) (json.RawMessage, error) {
	body, err := json.Marshal(struct {
		CommandName string `json:"commandName"`
		Data        any    `json:"data,omitempty"`
	}{command, data})
	if err != nil {
		return nil, fmt.Errorf("admin command %s: %w", command, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("admin command %s: %w", command, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("admin command %s: POST %s: %w", command, c.endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("admin command %s: read response: %w", command, err)
	}
	if len(raw) > maxResponse {
		return nil, fmt.Errorf("admin command %s: response over %d bytes: %w", command, maxResponse, ErrMalformed)
	}
	return parseResponse(command, resp.StatusCode, raw)
}

// parseResponse reads a RunCommandResponse ({"output": value}) from a 200,
// and a grpc-gateway status ({"code", "message"}) from anything else.
func parseResponse(command string, status int, raw []byte) (json.RawMessage, error) {
	if status != http.StatusOK {
		e := &CommandError{Command: command, HTTPStatus: status, Code: -1}
		var st struct {
			Code    *int   `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &st) == nil && st.Code != nil {
			e.Code, e.Message = *st.Code, st.Message
		} else {
			e.Message = fmt.Sprintf("%q", truncate(raw, 200))
		}
		return nil, e
	}
	var out struct {
		Output json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("admin command %s: %w: %v", command, ErrMalformed, err)
	}
	if len(out.Output) == 0 {
		return nil, fmt.Errorf("admin command %s: %w: no output in %q", command, ErrMalformed, truncate(raw, 200))
	}
	return out.Output, nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// getBlocklist is get-config of the blocklist field.
func (c *client) getBlocklist(ctx context.Context) ([]string, error) {
	out, err := c.run(ctx, "get-config", BlocklistField)
	if err != nil {
		return nil, err
	}
	ids, err := parseIDList(out)
	if err != nil {
		return nil, fmt.Errorf("admin command get-config %s: %w", BlocklistField, err)
	}
	return ids, nil
}

// setBlocklist is set-config of the blocklist field; it returns the list
// the node held before (oldValue), to tell whether someone else changed it
// since it was read.
func (c *client) setBlocklist(ctx context.Context, ids []string) ([]string, error) {
	list := make([]any, len(ids)) // never null: flow-go wants a list
	for i, id := range ids {
		list[i] = id
	}
	out, err := c.run(ctx, "set-config", map[string]any{BlocklistField: list})
	if err != nil {
		return nil, err
	}
	old, err := parseSetOutput(out)
	if err != nil {
		return nil, fmt.Errorf("admin command set-config %s: %w", BlocklistField, err)
	}
	return old, nil
}

// nodeIDOf is get-latest-identity of a peer ID.
func (c *client) nodeIDOf(ctx context.Context, peerID string) (string, error) {
	out, err := c.run(ctx, "get-latest-identity", map[string]any{"peer_id": peerID})
	if err != nil {
		return "", err
	}
	id, err := parseIdentity(out)
	if err != nil {
		return "", fmt.Errorf("admin command get-latest-identity %s: %w", peerID, err)
	}
	return id, nil
}
