package source

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/peerjail/peerjail/internal/logline"
)

const (
	readSize = 256 << 10 // bytes asked of the kernel at once
	fpLen    = 64        // bytes before the read offset that must not change
)

// skip says what to do with the bytes up to the next newline.
type skip uint8

const (
	skipNone      skip = iota
	skipOversized      // a line longer than MaxLine: drop it, report it once
	skipResync         // the rest of a line that began before we started: drop it silently
)

// follower reads one file by name. It delivers complete lines only, notices
// a truncation (copytruncate) and a rotation by rename, and gives every line
// the position to resume after it.
//
// A truncation is recognised when the fpLen bytes before the read offset
// are no longer there or have changed: a file truncated and quickly
// rewritten past the old offset keeps its size but not its content.
//
// After a rotation by rename the follower reads the new file at once and
// the renamed one on, by its descriptor, until it has been quiet for the
// grace period: writers append to it until they reopen their log. The
// lines of both carry the path's position, which names the new file and
// every renamed one not left yet (see appendPathPos), so that a restart
// resumes them all.
type follower struct {
	path      string
	f         *os.File
	id        fileID
	prefix    string // id.prefix(), for positions
	pos       int64  // file offset of the first byte not read yet
	off       int64  // file offset after the last line delivered
	buf       []byte // buf[:n] is the start of a line not complete yet
	n         int
	skip      skip
	max       int
	fp        []byte // up to fpLen bytes just before pos
	before    []byte // up to fpLen bytes just before off, for positions
	num       int64
	now       time.Time
	pbuf      []byte // positions of one chunk, before they become one string
	ends      []int
	gone      time.Time // since when path no longer names f (zero while it does)
	statFail  bool      // a stat error was logged
	readFail  bool      // a read error was logged
	dropAfter time.Duration
	reg       *registry
	log       *slog.Logger
	wake      chan struct{}
	grace     time.Duration // renameGrace

	// renamed are the files the path named before, still read through
	// their descriptors after a rotation; a writer appends to them until
	// it reopens its log.
	renamed []*follower
	// primary, in a renamed file's follower, is the follower of the path:
	// it numbers the lines and gives them their positions.
	primary *follower
	quiet   time.Time // renamed file: when it last had new data, or was renamed
	// lagging is true while the follower has more to read than it read in
	// its last step. A renamed file's grace period counts only from when
	// the follower has caught up: how long it has been quiet says nothing
	// about its writer while the follower is behind.
	lagging bool

	upcoming []upcoming   // files the path named since f, oldest first
	looked   time.Time    // when lookAhead last looked at the path
	sendTick *time.Ticker // send: when to look at the path again while blocked
	// known are the identities of the path's rotated siblings there when
	// the follower started and of every file it has read: findMissed
	// takes any other sibling for a generation it never saw.
	known map[fileID]bool
}

// use makes f, whose identity is id, the file being read, from offset off.
func (fl *follower) use(f *os.File, id fileID, off int64, sk skip) {
	fl.f, fl.id, fl.prefix = f, id, id.prefix()
	fl.know(id)
	fl.pos, fl.off, fl.n, fl.skip = off, off, 0, sk
	fl.gone = time.Time{}
	var ok bool
	if fl.fp, ok = readBefore(f, off, fl.fp[:0]); !ok { // shorter than off: start over
		fl.pos, fl.off, fl.skip, fl.fp = 0, 0, skipNone, fl.fp[:0]
	}
	fl.before = append(fl.before[:0], fl.fp...)
}

// position is where reading stopped.
func (fl *follower) position() filePos {
	return filePos{id: fl.id, off: fl.off, sum: crc32.Checksum(fl.before, castagnoli), hasSum: true}
}

// resumeAt returns p's offset if p is a position in f, else 0.
func resumeAt(f *os.File, p filePos) int64 {
	fi, err := f.Stat()
	if err != nil || !p.in(f, fi.Size()) {
		return 0
	}
	return p.off
}

// run follows the file until ctx ends or the file is gone for good.
func (fl *follower) run(ctx context.Context, out chan<- logline.Line, every time.Duration) {
	defer func() {
		if fl.sendTick != nil {
			fl.sendTick.Stop()
		}
		for _, r := range fl.renamed {
			r.close()
		}
		fl.dropUpcoming()
		fl.close()
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		more, ok := fl.step(ctx, out)
		if !ok {
			if ctx.Err() == nil { // the path is done with: what was renamed away is not
				fl.readRenamed(ctx, out, true)
			}
			return
		}
		if more {
			continue
		}
		// Writes to a renamed file wake no one: its new name, if the
		// directory is watched, is not a followed path.
		var poll *time.Timer
		var polled <-chan time.Time
		if len(fl.renamed) > 0 {
			poll = time.NewTimer(pollEvery)
			polled = poll.C
		}
		select {
		case <-ctx.Done():
			return
		case <-fl.wake:
		case <-t.C:
		case <-polled:
		}
		if poll != nil {
			poll.Stop()
		}
	}
}

// step reads one chunk of each file and looks at the path, so that a
// file that the path names only briefly (rotations in a burst) is opened
// while it does, however much there is to read: once open, it is read to
// its end whatever its name. more is true when a file may have more to
// read; ok is false when the follower should end.
func (fl *follower) step(ctx context.Context, out chan<- logline.Line) (more, ok bool) {
	moreRenamed, ok := fl.readRenamed(ctx, out, false)
	if !ok {
		return false, false
	}
	alive, more := fl.read(ctx, out)
	if !alive || !fl.checkPath(ctx, out) {
		return false, false
	}
	fl.lagging = more || moreRenamed || len(fl.upcoming) > 0
	return more || moreRenamed, true
}

// close records where reading stopped, for a follower that takes the
// file up under another name, and closes it.
func (fl *follower) close() {
	fl.reg.release(fl.position())
	fl.f.Close()
}

// readRenamed reads a chunk of each renamed file (all of each when final)
// and leaves those read to their end and quiet for the grace period (all
// when final), once their last line is delivered. ok is false when ctx
// ended.
func (fl *follower) readRenamed(ctx context.Context, out chan<- logline.Line, final bool) (more, ok bool) {
	keep := fl.renamed[:0:0]
	for i, r := range fl.renamed {
		pos := r.pos
		alive, rmore := r.read(ctx, out)
		for final && alive && rmore {
			alive, rmore = r.read(ctx, out)
		}
		if !alive {
			fl.renamed = append(keep, fl.renamed[i:]...)
			return false, false
		}
		now := time.Now()
		if r.pos != pos || fl.lagging {
			r.quiet = now
		}
		if !final && (rmore || now.Sub(r.quiet) < r.grace) {
			keep = append(keep, r)
			more = more || rmore
			continue
		}
		if !r.flush(ctx, out) {
			fl.renamed = append(keep, fl.renamed[i:]...)
			return false, false
		}
		fl.log.Info("renamed file read to its end, no longer read", "path", fl.path, "offset", r.pos)
		r.close()
	}
	fl.renamed = keep
	return more, true
}

// readAvailable delivers the lines appended since the last call. It returns
// false when ctx ended.
func (fl *follower) readAvailable(ctx context.Context, out chan<- logline.Line) bool {
	for {
		alive, more := fl.read(ctx, out)
		if !alive || !more {
			return alive
		}
	}
}

// read delivers the lines of one read of the file. alive is false when
// ctx ended; more is true when the read did not reach the end.
func (fl *follower) read(ctx context.Context, out chan<- logline.Line) (alive, more bool) {
	if fl.truncated() {
		fl.log.Info("file truncated, reading it from its start", "path", fl.path)
		fl.use(fl.f, fl.id, 0, skipNone)
	}
	fl.makeRoom()
	m, err := fl.f.ReadAt(fl.buf[fl.n:], fl.pos)
	if m == 0 {
		fl.readFailed(err)
		return true, false
	}
	fl.readFailed(nil)
	fl.now = time.Now()
	data := fl.buf[:fl.n+m]
	base := fl.pos - int64(fl.n)
	fl.fp = keepTail(fl.fp, data[fl.n:])
	fl.pos += int64(m)
	used, alive := fl.consume(ctx, out, data, base)
	if !alive {
		return false, false
	}
	fl.n = copy(fl.buf, data[used:])
	return true, err == nil // io.EOF: the next read would return nothing
}

// readFailed logs a failing read once, and the first read that works
// again after it: a follower retries at every wake-up.
func (fl *follower) readFailed(err error) {
	failing := err != nil && !errors.Is(err, io.EOF)
	switch {
	case failing && !fl.readFail:
		fl.log.Warn("read file, will retry", "path", fl.path, "err", err)
	case !failing && fl.readFail:
		fl.log.Info("file readable again", "path", fl.path)
	}
	fl.readFail = failing
}

// truncated reports whether the bytes before the read offset are gone.
func (fl *follower) truncated() bool {
	k := len(fl.fp)
	if k == 0 {
		return false
	}
	var tmp [fpLen]byte
	m, err := fl.f.ReadAt(tmp[:k], fl.pos-int64(k))
	if err != nil && !errors.Is(err, io.EOF) {
		return false // a failing read says nothing about the file's size
	}
	return m < k || !bytes.Equal(tmp[:k], fl.fp)
}

// checkPath looks at what the path names now. It returns false when the
// follower should end: ctx ended, or the file is gone for good.
func (fl *follower) checkPath(ctx context.Context, out chan<- logline.Line) bool {
	fi, err := os.Stat(fl.path)
	switch {
	case err == nil && idOf(fi) == fl.id:
		if fl.statFail {
			fl.log.Info("file can be looked at again", "path", fl.path)
		}
		fl.gone, fl.statFail = time.Time{}, false
		return true
	case len(fl.upcoming) > 0: // the path named another file since
		return fl.rotate(ctx, out)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		if !fl.statFail {
			fl.log.Warn("stat file, still reading it", "path", fl.path, "err", err)
			fl.statFail = true
		}
		return true
	}
	if fl.gone.IsZero() {
		fl.gone = time.Now()
	}
	expired := time.Since(fl.gone) >= fl.dropAfter
	if err != nil { // deleted, or renamed with nothing in its place yet
		if !expired {
			return true
		}
		fl.log.Info("file gone, no longer read", "path", fl.path)
		if fl.readAvailable(ctx, out) {
			fl.flush(ctx, out)
		}
		return false
	}
	return fl.rotate(ctx, out)
}

// rotate moves to the new file at the path. The renamed one is read on
// through its descriptor for the grace period: a writer appends to it
// until it reopens its log. It returns false when the follower should end.
func (fl *follower) rotate(ctx context.Context, out chan<- logline.Line) bool {
	if len(fl.upcoming) > 0 {
		u := fl.upcoming[0]
		fl.upcoming = fl.upcoming[1:]
		fl.switchTo(u.f, u.id, u.left, u.known)
		return true
	}
	f, id, err := openRegular(fl.path)
	if err != nil {
		if !fl.statFail {
			fl.log.Warn("open rotated file", "path", fl.path, "err", err)
			fl.statFail = true
		}
		return true
	}
	if fl.statFail {
		fl.log.Info("rotated file readable", "path", fl.path)
		fl.statFail = false
	}
	left, known, free := fl.reg.claim(id, fl.path)
	if !free { // read by another follower under another name
		f.Close()
		fl.log.Info("file at the path already read under another name, no longer read here", "path", fl.path)
		if fl.readAvailable(ctx, out) {
			fl.flush(ctx, out)
		}
		return false
	}
	fl.switchTo(f, id, left, known)
	return true
}

// switchTo makes f, claimed, the file read, and the one read so far a
// renamed one.
func (fl *follower) switchTo(f *os.File, id fileID, left filePos, known bool) {
	fl.keepRenamed()
	fl.know(id)
	fl.findMissed()
	var off int64
	if known {
		off = resumeAt(f, left)
	}
	fl.log.Info("file rotated, reading the new one", "path", fl.path, "offset", off)
	fl.use(f, id, off, skipNone)
}

// upcoming is a file the path named while the follower was busy reading:
// opened then, so that rotations in a burst lose no file, and read once
// the files before it have been switched from.
type upcoming struct {
	f     *os.File
	id    fileID
	left  filePos
	known bool
}

// lookAheadEvery is how often, at most, a busy follower looks at what its
// path names.
const lookAheadEvery = 10 * time.Millisecond

// lookAhead opens the file the path names if it is not one already
// opened: a follower far behind its writer sees every file of a burst of
// rotations, each named by the path only briefly.
func (fl *follower) lookAhead() {
	if fl.primary != nil {
		fl.primary.lookAhead()
		return
	}
	now := time.Now()
	if now.Sub(fl.looked) < lookAheadEvery {
		return
	}
	fl.looked = now
	fi, err := os.Stat(fl.path)
	if err != nil {
		return
	}
	last := fl.id
	if n := len(fl.upcoming); n > 0 {
		last = fl.upcoming[n-1].id
	}
	if idOf(fi) == last {
		return
	}
	f, id, err := openRegular(fl.path)
	if err != nil {
		return // checkPath says why, if it lasts
	}
	if id == last {
		f.Close()
		return
	}
	left, known, free := fl.reg.claim(id, fl.path)
	if !free {
		f.Close()
		return
	}
	fl.upcoming = append(fl.upcoming, upcoming{f: f, id: id, left: left, known: known})
}

// position is where reading u starts.
func (u upcoming) position() filePos {
	if u.known {
		return u.left
	}
	return filePos{id: u.id, sum: crc32.Checksum(nil, castagnoli), hasSum: true}
}

// send delivers l unless ctx ends first; it reports whether l was sent.
// While the receiver is busy (a flood, a slow consumer), the follower
// still looks at its path: a writer rotating meanwhile names each new file
// by the path only until the next rotation, and one not opened by then
// is lost for good when the rotated names do not match the globs.
func (fl *follower) send(ctx context.Context, out chan<- logline.Line, l logline.Line) bool {
	select {
	case out <- l:
		return true
	case <-ctx.Done():
		return false
	default:
	}
	top := fl
	if fl.primary != nil {
		top = fl.primary
	}
	if top.sendTick == nil {
		top.sendTick = time.NewTicker(lookAheadEvery) // stopped by run
	}
	woke := false
	defer func() {
		if woke { // for the follower's wait, which may need it
			poke(top.wake)
		}
	}()
	for {
		top.lookAhead()
		select {
		case out <- l:
			return true
		case <-ctx.Done():
			return false
		case <-top.wake: // the path's directory changed
			woke = true
		case <-top.sendTick.C:
		}
	}
}

// dropUpcoming closes the files opened ahead and not read.
func (fl *follower) dropUpcoming() {
	for _, u := range fl.upcoming {
		fl.reg.release(u.position())
		u.f.Close()
	}
	fl.upcoming = nil
}

// keepRenamed hands the file being read, with the line it is in the middle
// of, to a follower of its own among fl.renamed, so that fl can take the
// new file. The registry keeps the renamed file claimed until it is left,
// so that a glob matching its new name does not read it twice.
func (fl *follower) keepRenamed() {
	r := &follower{path: fl.path, f: fl.f, id: fl.id, prefix: fl.prefix, pos: fl.pos, off: fl.off,
		buf: fl.buf, n: fl.n, skip: fl.skip, max: fl.max, fp: fl.fp, before: fl.before, now: fl.now,
		reg: fl.reg, log: fl.log, grace: fl.grace, primary: fl, quiet: time.Now()}
	fl.renamed = append(fl.renamed, r)
	fl.buf, fl.fp, fl.before = nil, nil, nil
}

// know records that id is a file of the path the follower has seen.
func (fl *follower) know(id fileID) {
	top := fl
	if fl.primary != nil {
		top = fl.primary
	}
	if top.known == nil {
		top.known = make(map[fileID]bool)
	}
	top.known[id] = true
}

// knowSiblings records the rotated siblings of the path there now: old
// generations, not ones findMissed should read.
func (fl *follower) knowSiblings() {
	for _, sb := range siblings(fl.path) {
		fl.know(sb.id)
	}
}

// sibling is a file in the path's directory named like a rotated copy of
// it (app.log.1, app.log-20260101).
type sibling struct {
	name string
	id   fileID
	mod  time.Time
}

// siblings lists the path's rotated siblings. Compressed ones are left
// out: compressing writes a new file, with lines already read.
func siblings(path string) []sibling {
	dir, base := filepath.Split(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []sibling
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || len(name) <= len(base) || !strings.HasPrefix(name, base) ||
			!strings.ContainsRune(".-_", rune(name[len(base)])) || compressed(name) {
			continue
		}
		fi, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		out = append(out, sibling{name: name, id: idOf(fi), mod: fi.ModTime()})
	}
	return out
}

func compressed(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".z", ".zip", ".br":
		return true
	}
	return false
}

// findMissed reads, as renamed files, the rotated siblings of the path
// that the follower never saw: a file that rotations in a burst had the
// path name only while the follower did not run (a loaded host) was
// renamed away before it could be opened. Any sibling that was not there
// when the follower started, that it has not read and that no follower
// reads is such a generation; they are read oldest first.
func (fl *follower) findMissed() {
	var missed []sibling
	for _, sb := range siblings(fl.path) {
		if !fl.known[sb.id] && !fl.reg.seen(sb.id) {
			missed = append(missed, sb)
		}
	}
	slices.SortFunc(missed, func(a, b sibling) int { return a.mod.Compare(b.mod) })
	dir := filepath.Dir(fl.path)
	for _, sb := range missed {
		f, id, err := openRegular(filepath.Join(dir, sb.name))
		if err != nil {
			continue
		}
		if id != sb.id {
			f.Close()
			continue
		}
		if _, _, free := fl.reg.claim(id, fl.path); !free {
			f.Close()
			continue
		}
		fl.log.Info("reading a rotated file the path named only while the follower did not look", "path", fl.path, "file", sb.name)
		fl.resumeRenamed(f, id, 0)
	}
}

// resumeRenamed reads f, an older file of the path that a saved position
// names (renamed away while the previous run read it, or since), on from
// off as a renamed file: to its end, and for the grace period.
func (fl *follower) resumeRenamed(f *os.File, id fileID, off int64) {
	r := &follower{path: fl.path, max: fl.max, reg: fl.reg, log: fl.log, grace: fl.grace,
		primary: fl, quiet: time.Now()}
	r.use(f, id, off, skipNone)
	fl.know(id)
	fl.renamed = append(fl.renamed, r)
}

// openByID opens the regular file in dir whose identity is id, whatever
// its name: a file renamed by a rotation stays in its directory.
func openByID(dir string, id fileID) (*os.File, string, bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, "", false
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if fi, err := os.Lstat(p); err != nil || idOf(fi) != id {
			continue
		}
		f, fid, err := openRegular(p)
		if err != nil {
			continue
		}
		if fid != id { // renamed again, or replaced, in between
			f.Close()
			continue
		}
		return f, p, true
	}
	return nil, "", false
}

// openRegular opens a regular file for reading. It looks before it opens:
// opening a FIFO would block.
func openRegular(path string) (*os.File, fileID, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, fileID{}, err
	} else if !fi.Mode().IsRegular() {
		return nil, fileID{}, ErrNotRegular
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fileID{}, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = ErrNotRegular
	}
	if err != nil {
		f.Close()
		return nil, fileID{}, err
	}
	return f, idOf(fi), nil
}
