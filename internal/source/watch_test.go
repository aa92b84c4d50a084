package source

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestFilesSayWhatTheyFollow: a glob matching nothing is warned about
// once, not at every rescan; a file is logged at info when it is followed
// and when it is left, and Watching lists the files followed at the time.
func TestFilesSayWhatTheyFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	lr := &logRecorder{}
	fs := NewFiles([]string{filepath.Join(dir, "*.log")}, nil, FileOptions{Rescan: 20 * time.Millisecond, Logger: lr.logger()})
	if w := fs.Watching(); len(w) != 0 {
		t.Errorf("Watching() before Run = %v, want none", w)
	}
	scans := watchScans(fs)
	got, stop := runFiles(t, fs)
	defer stop()
	scans.wait(t, 4) // and the first one

	if n := lr.count(slog.LevelWarn, "no file matches the globs; following them once one appears", "", ""); n != 1 {
		t.Errorf("%d warnings that no file matches, want 1", n)
	}
	if w := fs.Watching(); len(w) != 0 {
		t.Errorf("Watching() = %v, want none", w)
	}

	writeFile(t, path, "first\n")
	got.expect("first")
	if w := fs.Watching(); !slices.Equal(w, []string{path}) {
		t.Errorf("Watching() = %v, want [%s]", w, path)
	}
	if lr.count(slog.LevelInfo, "following file", "path", path) != 1 {
		t.Errorf("following %s not logged at info", path)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	scans.until(t, "the file left", func() bool { return len(fs.Watching()) == 0 })
	if lr.count(slog.LevelInfo, "file gone, no longer read", "path", path) != 1 {
		t.Errorf("leaving %s not logged at info", path)
	}
}

func TestCheckJournal(t *testing.T) {
	empty := t.TempDir()
	if err := checkJournal([]string{empty, filepath.Join(empty, "none")}); !errors.Is(err, ErrNoJournal) {
		t.Errorf("no journal files: got %v, want ErrNoJournal", err)
	}
}

func TestUnmatchedGlobs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.log"), "")
	globs := []string{filepath.Join(dir, "*.log"), filepath.Join(dir, "*.txt"), "-", filepath.Join(dir, "b.log")}
	want := []string{filepath.Join(dir, "*.txt"), filepath.Join(dir, "b.log")}
	if got := UnmatchedGlobs(globs); !slices.Equal(got, want) {
		t.Errorf("UnmatchedGlobs = %v, want %v", got, want)
	}
}
