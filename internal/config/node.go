package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

const (
	// maxFileSize bounds what we read: a config is a few kilobytes, and a
	// mistaken path (a log, a disk image) must fail fast.
	maxFileSize = 4 << 20
	// maxNodes bounds the document after expanding aliases, which refuses
	// "billion laughs" documents whose aliases multiply a small text into
	// an enormous tree.
	maxNodes = 1 << 20
)

// decode parses data as a single YAML document and returns its root node;
// a nil node means the document is empty.
func decode(file string, data []byte) (*yaml.Node, error) {
	root, _, err := decodeCounted(file, data)
	return root, err
}

// decodeCounted is decode that also returns the document's size in nodes
// with aliases expanded, which bounds the work of walking it.
func decodeCounted(file string, data []byte) (*yaml.Node, int, error) {
	if len(data) > maxFileSize {
		return nil, 0, &Error{File: file, Msg: fmt.Sprintf("file is larger than %d MiB; is this really a config?", maxFileSize>>20)}
	}
	if err := checkText(file, data); err != nil {
		return nil, 0, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := safeDecode(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, nil
		}
		return nil, 0, syntaxError(file, data, err)
	}
	var extra yaml.Node
	switch err := safeDecode(dec, &extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, 0, syntaxError(file, data, err)
	default:
		return nil, 0, &Error{File: file, Line: extra.Line, Column: extra.Column,
			Msg: "a second YAML document (after ---) is not allowed; put everything in one"}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	size, err := measure(file, root)
	if err != nil {
		return nil, 0, err
	}
	return root, size, nil
}

// safeDecode turns a panic inside the YAML library into an error: no input
// may crash the daemon's reload.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: cannot parse: %v", r)
		}
	}()
	return dec.Decode(n)
}

// checkSize refuses documents whose aliases expand beyond maxNodes, and
// aliases that contain themselves.
func checkSize(file string, root *yaml.Node) error {
	_, err := measure(file, root)
	return err
}

// measure is checkSize that also returns the size.
func measure(file string, root *yaml.Node) (int, error) {
	s := sizer{memo: map[*yaml.Node]int{}, active: map[*yaml.Node]bool{}}
	n := s.size(root)
	if s.cycle != nil {
		return 0, &Error{File: file, Line: s.cycle.Line, Column: s.cycle.Column,
			Msg: fmt.Sprintf("alias *%s is inside its own anchor", s.cycle.Value)}
	} else if n > maxNodes {
		return 0, &Error{File: file, Msg: fmt.Sprintf("document has more than %d nodes once aliases are expanded", maxNodes)}
	}
	return n, nil
}

type sizer struct {
	memo   map[*yaml.Node]int // sizes of anchored nodes, which aliases share
	active map[*yaml.Node]bool
	cycle  *yaml.Node
}

// size counts n's nodes with aliases expanded, saturating above maxNodes.
func (s *sizer) size(n *yaml.Node) int {
	if n == nil || s.cycle != nil {
		return 0
	}
	if n.Kind == yaml.AliasNode {
		if s.active[n.Alias] {
			s.cycle = n
			return 0
		}
		return s.size(n.Alias)
	}
	if v, ok := s.memo[n]; ok {
		return v
	}
	// Only anchored nodes can be reached twice, so only they need the
	// bookkeeping.
	anchored := n.Anchor != ""
	if anchored {
		s.active[n] = true
	}
	total := 1
	for _, c := range n.Content {
		total = min(total+s.size(c), maxNodes+1)
	}
	if anchored {
		delete(s.active, n)
		s.memo[n] = total
	}
	return total
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is an absent value (`key:`, `~`, `null`).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node holds, for "got X, want Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// joinKey builds the key path shown in messages: "source" + "files" =
// "source.files".
func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func quoteList(words []string) string { return strings.Join(words, ", ") }
