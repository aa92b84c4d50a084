//go:build linux

package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestOpenFileContext: reading endless input, a line that never ends
// (/dev/zero) or a FIFO whose writer sends nothing, ends with the context.
func TestOpenFileContext(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_RDWR, 0) // a writer, so that opening does not wait
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, path := range []string{"/dev/zero", fifo} {
		t.Run(path, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				rc, _, err := OpenFileContext(ctx, path) // looks for gzip's magic: reads already
				if err != nil {
					done <- err
					return
				}
				defer rc.Close()
				r := NewReader(rc)
				for {
					if _, err := r.Next(); err != nil && !errors.Is(err, ErrOversized) {
						done <- err
						return
					}
				}
			}()
			// Not a wait for a result: Next must end with the context
			// wherever the cancel lands; the pause makes it land in a read
			// (of /dev/zero) or in a wait for the FIFO's writer, the cases
			// under test.
			time.Sleep(50 * time.Millisecond)
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Next: %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still reading 10s after the context ended")
			}
		})
	}
}
