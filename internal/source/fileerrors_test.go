package source

import (
	"hash/crc32"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFilesGone: a deleted file is read on for a while, then dropped; a
// file created again under its name is new and read from its start.
func TestFilesGone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "")
	fs := NewFiles([]string{filepath.Join(dir, "*.log")}, nil, fast)
	scans := watchScans(fs)
	got, stop := runFiles(t, fs)
	defer stop()
	appendString(t, path, "one\n")
	got.expect("one")
	w := appendFile(t, path)
	os.Remove(path)
	w.WriteString("written after the unlink\n") // still read: we hold the file open
	w.Close()
	got.expect("written after the unlink")
	scans.until(t, "the follower of the deleted file dropped", func() bool { return !following(fs, path) })
	writeFile(t, path, "again 1\n")
	got.expect("again 1")
}

func following(fs *Files, path string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.running[path] != nil
}

// TestFilesNotRegular: a directory or a FIFO matched by a glob is skipped,
// without blocking or failing.
func TestFilesNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "d.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "p.log"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "a.log"), "")
	got, stop := runFiles(t, NewFiles([]string{filepath.Join(dir, "*.log")}, nil, fast))
	defer stop()
	appendString(t, filepath.Join(dir, "a.log"), "fine\n")
	got.expect("fine")
}

// TestFilesReusedIdentity: where reading a file stopped is kept by its
// identity, and a deleted file's identity (inode) can come back for a new
// file: the new file is read from its start unless its bytes match.
func TestFilesReusedIdentity(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "again 1\nagain 2\n")
	fi, _ := os.Stat(path)
	id := idOf(fi)
	tests := []struct {
		name string
		left filePos
		want int64
	}{
		{"beyond its end", filePos{id: id, off: 29, hasSum: true}, 0},
		{"other bytes", filePos{id: id, off: 8, sum: 12345, hasSum: true}, 0},
		{"same bytes", filePos{id: id, off: 8, sum: crc32.Checksum([]byte("again 1\n"), castagnoli), hasSum: true}, 8},
	}
	for _, tt := range tests {
		fs := NewFiles([]string{path}, nil, fast)
		fs.reg, fs.running, fs.failed = newRegistry(), make(map[string]*follower), make(map[string]bool)
		fs.reg.release(tt.left)
		fl := fs.start(path, nil, false)
		if fl == nil {
			t.Fatalf("%s: not started", tt.name)
		}
		if fl.pos != tt.want {
			t.Errorf("%s: reads from %d, want %d", tt.name, fl.pos, tt.want)
		}
		fl.f.Close()
	}
}
