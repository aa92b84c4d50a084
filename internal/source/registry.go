package source

import "sync"

// registry knows which file identities are being read, and where reading
// stopped in those left, so that a rotated file that matches a glob under
// its new name is read on from there, not again from its start.
type registry struct {
	mu   sync.Mutex
	open map[fileID]string
	left map[fileID]filePos
}

func newRegistry() *registry {
	return &registry{open: make(map[fileID]string), left: make(map[fileID]filePos)}
}

// claim marks id as read by the follower of path. free is false when
// another follower reads it; known is true when reading stopped at left.
// Identities are reused once a file is deleted: left must be checked
// against the file (resumeAt).
func (r *registry) claim(id fileID, path string) (left filePos, known, free bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.open[id]; ok && p != path {
		return filePos{}, false, false
	}
	r.open[id] = path
	left, known = r.left[id]
	delete(r.left, id)
	return left, known, true
}

// release records that reading p.id stopped at p.
func (r *registry) release(p filePos) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.open, p.id)
	r.left[p.id] = p
}

// prune forgets the files left that no glob matches any more.
func (r *registry) prune(seen map[fileID]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.left {
		if !seen[id] {
			delete(r.left, id)
		}
	}
}

// seen reports whether id is read now or was left in this run.
func (r *registry) seen(id fileID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, open := r.open[id]
	_, left := r.left[id]
	return open || left
}
