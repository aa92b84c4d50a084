package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Files lists the trail's files in dir, oldest first: the rotated ones from
// the highest number down, then the current one. Missing files are not
// listed; a missing dir is no error.
func Files(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read audit trail: %w", err)
	}
	type rotated struct {
		n    int
		path string
	}
	var old []rotated
	current := ""
	for _, e := range entries {
		name := e.Name()
		if name == FileName {
			current = filepath.Join(dir, name)
			continue
		}
		suffix, ok := strings.CutPrefix(name, FileName+".")
		if n, err := strconv.Atoi(suffix); ok && err == nil && n > 0 {
			old = append(old, rotated{n, filepath.Join(dir, name)})
		}
	}
	slices.SortFunc(old, func(a, b rotated) int { return b.n - a.n })
	out := make([]string, 0, len(old)+1)
	for _, r := range old {
		out = append(out, r.path)
	}
	if current != "" {
		out = append(out, current)
	}
	return out, nil
}

// Read calls fn with every record of the trail in dir, oldest first, until
// fn returns false. Lines that do not decode (one a crash or a full disk
// cut short) are skipped and counted in skipped. A file rotated while Read
// runs may be read twice or not at all: the trail is read by people, after
// the fact, not by the daemon.
func Read(dir string, fn func(Record) bool) (skipped int, err error) {
	files, err := Files(dir)
	if err != nil {
		return 0, err
	}
	for _, path := range files {
		n, more, err := readFile(path, fn)
		skipped += n
		if err != nil || !more {
			return skipped, err
		}
	}
	return skipped, nil
}

func readFile(path string, fn func(Record) bool) (skipped int, more bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, true, nil // rotated away meanwhile
	}
	if err != nil {
		return 0, false, fmt.Errorf("read audit trail: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if line = bytes.TrimSpace(line); len(line) > 0 {
			var r Record
			if json.Unmarshal(line, &r) != nil || r.Event == "" {
				skipped++
			} else if !fn(r) {
				return skipped, false, nil
			}
		}
		if errors.Is(err, io.EOF) {
			return skipped, true, nil
		}
		if err != nil {
			return skipped, false, fmt.Errorf("read %s: %w", path, err)
		}
	}
}
