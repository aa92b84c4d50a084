package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxIncludes bounds the files one config may include: a glob that matches
// a whole log directory is a mistake to report, not to read.
const maxIncludes = 1000

var (
	wantInclude = want{"a glob", "/etc/peerjail/jails.d/*.yaml"}
	egIncluded  = "{jails: {ipfs: {filter: libp2p-peer-status, source: {files: [/var/log/ipfs/*.log]}}}}"
)

// part is one file of a Load: the main file or one it includes.
type part struct {
	ref            fileRef
	dir            string // relative source globs are taken from here
	filters, jails *yaml.Node
	inc            *Include // nil for the main file
}

// place is where n is, as FILE:LINE:COL, for messages about another file.
func (pt *part) place(n *yaml.Node) string {
	return fmt.Sprintf("%s:%d:%d", pt.ref.name, n.Line, n.Column)
}

// usage is what the files read so far cost. The limits on one file's bytes
// and nodes hold for all files together, or a thousand included files
// could each come close to them.
type usage struct{ bytes, nodes int }

// includeFS is where included files come from: the disk, or a map in the
// tests (the fuzzer must not read /proc).
type includeFS interface {
	// glob is filepath.Glob, except that a directory it cannot read is an
	// error rather than no match.
	glob(pattern string) ([]string, error)
	// read returns at most limit bytes of a regular file, and a
	// notRegularError for anything else.
	read(path string, limit int) ([]byte, error)
	// same reports whether a and b name one file.
	same(a, b string) bool
}

type notRegularError struct{ dir bool }

func (e notRegularError) Error() string {
	if e.dir {
		return "a directory"
	}
	return "not a regular file"
}

// includes reads the files the main file's include: names, one level deep:
// an included file cannot include. Each glob's matches are read in sorted
// order, the globs in the order given; a file matched twice is read once.
func (p *parser) includes(n *yaml.Node) []*part {
	s := scope{p.errs, ""}
	items, _ := s.list(n, "include", wantInclude)
	read := map[string]bool{}
	var parts []*part
	for _, it := range items {
		pattern, ok := s.str(it.n, it.key, wantInclude)
		if !ok {
			continue
		}
		for _, m := range p.expand(s, it, pattern) {
			if p.fs.same(m, p.cfg.Path) {
				s.fail(it.n, it.key, "%q matches this file itself; keep included files in a directory of their own (e.g. %s)",
					pattern, wantInclude.eg)
				continue
			}
			key, err := filepath.Abs(m)
			if err != nil {
				key = filepath.Clean(m)
			}
			if read[key] {
				continue
			}
			read[key] = true
			if len(parts) == maxIncludes {
				s.fail(it.n, it.key, "more than %d files to include; is %q the right glob?", maxIncludes, pattern)
				return parts
			}
			pt, err := p.include(m, len(parts)+1)
			var nr notRegularError
			switch {
			case errors.As(err, &nr):
				s.fail(it.n, it.key, "%s is %v; include names files (e.g. %s)", m, nr, wantInclude.eg)
			case err != nil:
				p.ioErr = fmt.Errorf("%s:%d:%d: %s: %w", p.cfg.Path, it.n.Line, it.n.Column, it.key, err)
				return nil
			default:
				parts = append(parts, pt)
			}
		}
		if p.ioErr != nil {
			return nil
		}
	}
	return parts
}

// expand returns the files one include: glob matches, reporting what is
// wrong with it. A glob may match nothing (an empty jails.d is normal), a
// plain path must exist.
func (p *parser) expand(s scope, it item, pattern string) []string {
	if pattern == "" {
		s.fail(it.n, it.key, "empty glob (e.g. %s)", wantInclude.eg)
		return nil
	}
	glob := pattern
	if !filepath.IsAbs(glob) {
		glob = filepath.Join(filepath.Dir(p.cfg.Path), glob)
	}
	matches, err := p.fs.glob(glob)
	switch {
	case errors.Is(err, filepath.ErrBadPattern):
		s.fail(it.n, it.key, "%q is not a valid glob (e.g. %s)", pattern, wantInclude.eg)
		return nil
	case err != nil:
		p.ioErr = fmt.Errorf("%s:%d:%d: %s: %w", p.cfg.Path, it.n.Line, it.n.Column, it.key, err)
		return nil
	case len(matches) == 0 && !hasMeta(pattern):
		s.fail(it.n, it.key, "%s: no such file (a glob with * may match nothing, a plain path must exist)", glob)
		return nil
	}
	return matches
}

func hasMeta(pattern string) bool { return strings.ContainsAny(pattern, `*?[\`) }

// include reads and decodes one included file, ranked rank among the files
// of the Load. Its problems are recorded against it; the error is for a
// file that cannot be read.
func (p *parser) include(path string, rank int) (*part, error) {
	left := max(maxFileSize-p.used.bytes, 0)
	data, err := p.fs.read(path, left+1)
	if err != nil {
		return nil, err
	}
	pt := &part{ref: fileRef{path, rank}, dir: p.dirOf(path), inc: &Include{Path: path}}
	if len(data) > left {
		p.errs.push(&Error{File: path, Msg: fmt.Sprintf(
			"with the files read before it, the config is larger than %d MiB; is this really a config?", maxFileSize>>20)}, rank)
		return pt, nil
	}
	p.used.bytes += len(data)
	root, nodes, err := decodeCounted(path, data)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{File: path, Msg: err.Error()}
		}
		p.errs.push(e, rank)
		return pt, nil
	}
	if p.used.nodes += nodes; p.used.nodes > maxNodes {
		p.errs.push(&Error{File: path, Msg: fmt.Sprintf(
			"with the files read before it, the config has more than %d nodes once aliases are expanded", maxNodes)}, rank)
		return pt, nil
	}
	back := p.errs.current()
	p.errs.at(pt.ref)
	p.includedDocument(pt, root)
	p.errs.at(back)
	return pt, nil
}

// includedDocument walks the top level of an included file: jails and
// filters. Defaults are the main file's alone, so that every jail's
// inherited values are in one place.
func (p *parser) includedDocument(pt *part, root *yaml.Node) {
	if root == nil {
		return // empty, or only comments
	}
	s := scope{p.errs, ""}
	mainOnly := func(k string, v *yaml.Node) {
		what := "sets defaults; the jails of an included file inherit them"
		if k == "include" {
			what = "includes other files (an included file cannot include)"
		}
		s.fail(keyNode(root, k, v), k, "only the main config file (%s) %s", p.cfg.Path, what)
	}
	s.mapping(root, "", egIncluded, []handler{
		{"filters", func(_ string, v *yaml.Node) { pt.filters = dropNull(v) }},
		{"jails", func(_ string, v *yaml.Node) { pt.jails = v }},
	}, handler{"defaults", mainOnly}, handler{"include", mainOnly})
}

// keyNode finds the key k of mapping m, to point at `defaults:` rather than
// at its first entry; v when there is none.
func keyNode(m *yaml.Node, k string, v *yaml.Node) *yaml.Node {
	m = resolve(m)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == k {
			return m.Content[i]
		}
	}
	return v
}

// dirOf is the directory relative source globs in the included file at
// path are taken from: its own, absolute when the main file's is.
func (p *parser) dirOf(path string) string {
	if filepath.IsAbs(path) {
		return filepath.Dir(path)
	}
	rel, err := filepath.Rel(filepath.Dir(p.cfg.Path), path)
	if err != nil {
		return filepath.Dir(path)
	}
	return filepath.Join(p.mainDir, filepath.Dir(rel))
}

// osFS reads included files from disk.
type osFS struct{}

func (osFS) glob(pattern string) ([]string, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil || len(matches) > 0 {
		return matches, err
	}
	// Glob says "no match" for a directory it cannot read: `peerjail check`
	// run by a user who cannot read jails.d would pass on a config the
	// daemon sees otherwise.
	dir := filepath.Dir(pattern)
	if hasMeta(dir) {
		return nil, nil
	}
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err == nil {
		_, err = f.Readdirnames(1)
		f.Close()
		if err == io.EOF {
			err = nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read config directory: %w", err)
	}
	return nil, nil
}

func (osFS) read(path string, limit int) ([]byte, error) {
	// Stat first: opening a FIFO blocks, and opening some devices acts.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegularError{fi.IsDir()}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return data, nil
}

func (osFS) same(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
