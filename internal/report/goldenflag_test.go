package report

// The module's one -update flag is registered by internal/golden.
import _ "github.com/peerjail/peerjail/internal/golden"
