package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/peerjail/peerjail/internal/control"
)

// failingHosts are lj's top hosts by hits inside findtime now; called on
// the counting side.
func failingHosts(lj *liveJail, now time.Time, top int) []control.FailingHost {
	offenders := lj.lane.Counter.Failing(now, top)
	out := make([]control.FailingHost, len(offenders))
	for i, o := range offenders {
		out[i] = control.FailingHost{Host: o.Key.String(), Hits: o.Hits, Last: o.Last}
	}
	return out
}

// LogLevel implements control.LogLevelHandler on Options.LogLevel, the
// level of the daemon's logger.
func (d *Daemon) LogLevel(_ context.Context, level string) (string, error) {
	lv := d.o.LogLevel
	if lv == nil {
		return "", fmt.Errorf("log level: this daemon was started with a fixed level")
	}
	if level != "" {
		l, err := control.ParseLogLevel(level)
		if err != nil {
			return "", invalid{err}
		}
		if old := lv.Level(); old != l {
			// Logged once, at info or the lower of both levels if higher,
			// under the level that shows it: the old one or the new.
			at := max(min(old, l), slog.LevelInfo)
			say := func() {
				d.log.Log(context.Background(), at, "log level changed", "from", control.LevelName(old), "to", control.LevelName(l))
			}
			if old <= at {
				say()
				lv.Set(l)
			} else {
				lv.Set(l)
				say()
			}
		}
	}
	return control.LevelName(lv.Level()), nil
}
