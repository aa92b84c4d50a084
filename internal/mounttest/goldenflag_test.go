package mounttest

// The module's one -update flag is registered by internal/golden: imported
// here so that `go test ./... -update` runs this package's tests too.
import _ "github.com/peerjail/peerjail/internal/golden"
