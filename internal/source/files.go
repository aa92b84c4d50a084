package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/peerjail/peerjail/internal/logline"
)

// ErrNotRegular is logged for a glob match that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

const (
	defaultRescan = 5 * time.Second
	pollEvery     = 250 * time.Millisecond // Poll: how often a file is looked at
	safetyEvery   = 2 * time.Second        // inotify: in case an event was missed
	tailWindow    = 64 << 10               // how far back a start at the end looks for a line start

	// renameGrace is how long a file renamed away (rotated) is read on
	// after it last grew. logrotate renames, creates the new file, then
	// signals the writer (postrotate; with sharedscripts only after every
	// file of the block), and the writer appends to its old descriptor
	// until it handles the signal, flushing what it buffered first: well
	// under a second usually, a few seconds on a loaded host. Counting from
	// the last growth follows a slower writer for as long as it writes;
	// the price is one open descriptor per rotated file for that long.
	renameGrace = 5 * time.Second
)

// FileOptions tunes a Files source.
type FileOptions struct {
	// Rescan is how often the globs are evaluated again; 5s when zero.
	Rescan time.Duration
	Logger *slog.Logger
	// Poll looks at the files periodically instead of using inotify, for
	// tests and filesystems without inotify.
	Poll bool
}

// Files follows the files that match a set of globs.
//
// A file matched when Run starts is read from its saved position, or from
// its end when it has none (old lines are not ours to count). A file that
// appears later is read from its start. Files are followed by name through
// rotation by rename and by copytruncate; each line is delivered once.
type Files struct {
	globs   []string
	saved   Positions
	o       FileOptions
	log     *slog.Logger
	maxLine int           // MaxLine; lowered by tests
	grace   time.Duration // renameGrace; changed by tests
	// scanned, when set, is called after each scan of the globs (tests).
	scanned func()
	ready   readiness

	reg     *registry
	mu      sync.Mutex
	running map[string]*follower
	failed  map[string]bool // paths that could not be opened; true: since the start
	resumed map[string]bool // paths whose saved older files were looked for
	empty   bool            // the globs matched nothing, which was logged
}

// NewFiles returns a source following the files that match globs. saved
// may be nil.
func NewFiles(globs []string, saved Positions, o FileOptions) *Files {
	if saved == nil {
		saved = noPositions
	}
	if o.Rescan <= 0 {
		o.Rescan = defaultRescan
	}
	return &Files{globs: globs, saved: saved, o: o, log: orDiscard(o.Logger), maxLine: MaxLine,
		grace: renameGrace, ready: newReadiness()}
}

// Ready is closed once Run has opened the files there at its start and
// placed itself at their ends (or saved positions).
func (fs *Files) Ready() <-chan struct{} { return fs.ready.ch }

// Name returns "files:" and the globs.
func (fs *Files) Name() string { return "files:" + strings.Join(fs.globs, ",") }

// Run follows the files until ctx ends. Only a malformed glob is fatal.
func (fs *Files) Run(ctx context.Context, out chan<- logline.Line) error {
	for _, g := range fs.globs {
		if _, err := filepath.Match(g, ""); err != nil {
			return fmt.Errorf("glob %q: %w", g, err)
		}
	}
	fs.reg = newRegistry()
	fs.mu.Lock()
	fs.running = make(map[string]*follower)
	fs.mu.Unlock()
	fs.failed = make(map[string]bool)
	fs.resumed = make(map[string]bool)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	var w *watcher
	if !fs.o.Poll {
		var err error
		if w, err = newWatcher(fs.wake); err != nil {
			fs.log.Warn("inotify unavailable, polling files", "err", err)
		} else {
			defer w.close()
			wg.Go(w.run)
		}
	}
	fs.scan(ctx, out, &wg, w, true)
	fs.ready.done()
	t := time.NewTicker(fs.o.Rescan)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.created():
		}
		fs.scan(ctx, out, &wg, w, false)
	}
}

// wake tells the follower of path to look at its file.
func (fs *Files) wake(path string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if path == "" {
		for _, fl := range fs.running {
			poke(fl.wake)
		}
		return
	}
	if fl := fs.running[path]; fl != nil {
		poke(fl.wake)
	}
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// matches returns the cleaned, sorted, distinct paths the globs match.
func (fs *Files) matches() []string {
	set := make(map[string]bool)
	for _, g := range fs.globs {
		m, _ := filepath.Glob(g) // the patterns were checked by Run
		for _, p := range m {
			set[filepath.Clean(p)] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Watching returns the files being followed now, sorted.
func (fs *Files) Watching() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Sorted(maps.Keys(fs.running))
}

// scan starts a follower for each matching file not followed yet.
func (fs *Files) scan(ctx context.Context, out chan<- logline.Line, wg *sync.WaitGroup, w *watcher, initial bool) {
	paths := fs.matches()
	switch {
	case len(paths) == 0 && !fs.empty:
		fs.log.Warn("no file matches the globs; following them once one appears", "globs", fs.globs)
		fs.empty = true
	case len(paths) > 0:
		fs.empty = false
	}
	w.watchDirs(fs.globs, paths, fs.log)
	byID := fs.savedByID(paths, initial)
	seen := make(map[fileID]bool, len(paths))
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			seen[idOf(fi)] = true
		}
		fs.mu.Lock()
		_, ok := fs.running[p]
		fs.mu.Unlock()
		if ok || ctx.Err() != nil {
			continue
		}
		if fl := fs.start(p, byID, initial); fl != nil {
			every := safetyEvery
			if w == nil {
				every = pollEvery
			}
			wg.Go(func() {
				fl.run(ctx, out, every)
				fs.mu.Lock()
				delete(fs.running, p)
				fs.mu.Unlock()
			})
		}
	}
	fs.reg.prune(seen)
	if fs.scanned != nil {
		fs.scanned()
	}
	for p := range fs.failed {
		if _, found := slices.BinarySearch(paths, p); !found {
			delete(fs.failed, p)
		}
	}
}

// start opens path and registers its follower; nil when the file cannot be
// read now (a later scan tries again) or another follower reads it.
func (fs *Files) start(path string, byID map[fileID]filePos, initial bool) *follower {
	f, id, err := openRegular(path)
	if err != nil {
		if _, ok := fs.failed[path]; !ok {
			fs.log.Warn("open file, will retry", "path", path, "err", err)
			fs.failed[path] = initial
		}
		return nil
	}
	// A file there at the start, readable only later, is still an old one.
	wasInitial, failed := fs.failed[path]
	if failed {
		fs.log.Info("file readable again", "path", path)
	}
	initial = initial || wasInitial
	delete(fs.failed, path)
	left, known, free := fs.reg.claim(id, path)
	if !free {
		f.Close()
		return nil
	}
	off, sk := int64(0), skipNone
	if known {
		off = resumeAt(f, left)
	} else {
		off, sk = fs.startAt(f, path, id, byID, initial)
	}
	fl := &follower{path: path, max: fs.maxLine, dropAfter: 3 * fs.o.Rescan, reg: fs.reg,
		log: fs.log, wake: make(chan struct{}, 1), grace: fs.grace}
	fl.knowSiblings()
	fl.use(f, id, off, sk)
	fs.log.Info("following file", "path", path, "offset", off)
	if !fs.resumed[path] {
		if fs.resumed == nil { // tests start followers without Run
			fs.resumed = make(map[string]bool)
		}
		fs.resumed[path] = true
		fs.resumeRenamed(fl, id)
	}
	fs.mu.Lock()
	fs.running[path] = fl
	fs.mu.Unlock()
	return fl
}

// resumeRenamed has fl read on the files of its path that the saved
// position names besides the one at the path, cur: files renamed away
// that the previous run had not read to their end (it lagged behind a
// rotation, or the rotation happened while it was down). They are found
// by identity in the path's directory; one not found is gone.
func (fs *Files) resumeRenamed(fl *follower, cur fileID) {
	s, ok := fs.saved(fl.path)
	if !ok {
		return
	}
	ps, err := parsePathPos(s)
	if err != nil {
		return // savedByID said so
	}
	for _, p := range ps {
		if p.id == cur {
			continue
		}
		f, name, found := openByID(filepath.Dir(fl.path), p.id)
		if !found {
			continue
		}
		left, known, free := fs.reg.claim(p.id, fl.path)
		if !free { // a glob matches its new name: that follower reads it on
			f.Close()
			continue
		}
		if !known {
			left = p
		}
		off := resumeAt(f, left)
		fs.log.Info("reading on a rotated file the last run left unread", "path", fl.path, "file", name, "offset", off)
		fl.resumeRenamed(f, p.id, off)
	}
}

// startAt decides where a file not read before in this run is read from:
// byID holds the saved positions of the matched paths by file identity, so
// that a file rotated under a name the globs match is read on from where
// its old name left it.
func (fs *Files) startAt(f *os.File, path string, id fileID, byID map[fileID]filePos, initial bool) (int64, skip) {
	fi, err := f.Stat()
	if err != nil {
		return 0, skipNone
	}
	if p, ok := byID[id]; ok {
		// Not in f: truncated while we were away, all its lines are new.
		return resumeAt(f, p), skipNone
	}
	if s, ok := fs.saved(path); ok {
		if _, err := parsePathPos(s); err == nil {
			return 0, skipNone // another file than the one read: all its lines are new
		}
	}
	if !initial {
		return 0, skipNone
	}
	return tailStart(f, fi.Size())
}

// savedByID looks up the saved positions of paths.
func (fs *Files) savedByID(paths []string, initial bool) map[fileID]filePos {
	byID := make(map[fileID]filePos)
	for _, path := range paths {
		s, ok := fs.saved(path)
		if !ok {
			continue
		}
		ps, err := parsePathPos(s)
		if err != nil {
			if initial {
				fs.log.Warn("saved position ignored", "path", path, "err", err)
			}
			continue
		}
		for _, p := range ps {
			byID[p.id] = p
		}
	}
	return byID
}

// tailStart finds where the line being written at the end of the file
// starts, so that it is delivered whole once complete. When the start is
// too far back, the rest of that line is skipped.
func tailStart(f *os.File, size int64) (int64, skip) {
	from := max(0, size-tailWindow)
	buf := make([]byte, size-from)
	n, _ := f.ReadAt(buf, from)
	for i := n - 1; i >= 0; i-- {
		if buf[i] == '\n' {
			return from + int64(i) + 1, skipNone
		}
	}
	if from == 0 {
		return 0, skipNone
	}
	return size, skipResync
}
