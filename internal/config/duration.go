package config

import (
	"fmt"
	"time"
)

// ParseDuration reads a duration as the configuration writes one ("90s",
// "1h30m", "1d", "2w"), for command-line flags that take the same values.
// Only positive durations are accepted.
func ParseDuration(s string) (time.Duration, error) {
	d, err := parseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", wantDuration.notA(s), err)
	}
	return d, nil
}
