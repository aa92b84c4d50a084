package audit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
)

// rotate shifts audit.jsonl.i to .i+1 (the oldest is replaced) and the
// current file to .1, then opens a new one. The old file is fsynced and
// closed by the syncer, not here.
func (l *Log) rotate() error {
	for i := l.o.Keep; i > 1; i-- {
		err := os.Rename(l.path+"."+strconv.Itoa(i-1), l.path+"."+strconv.Itoa(i))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate: %w", err)
		}
	}
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	l.retired = append(l.retired, l.f)
	l.f, l.torn = nil, false
	l.kick()
	return l.open()
}
