//go:build goexperiment.jsonv2

package filter

import jsonv2 "encoding/json/v2"

// encoding/json/v2 exists in Go 1.26 only under GOEXPERIMENT=jsonv2.
func init() {
	jsonDecoders = append(jsonDecoders, struct {
		name   string
		decode func([]byte, any) error
	}{"encoding-json-v2", func(b []byte, v any) error { return jsonv2.Unmarshal(b, v) }})
}
