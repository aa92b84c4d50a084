package golden

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const importPath = "github.com/peerjail/peerjail/internal/golden"

type listed struct {
	ImportPath, Dir           string
	TestGoFiles, XTestGoFiles []string
	TestImports, XTestImports []string
	Deps                      []string
}

// goList runs go list -json from the module root.
func goList(t *testing.T, args ...string) []listed {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to list the module with")
	}
	cmd := exec.Command("go", append([]string{"list", "-C", "../..", "-json"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.Bytes())
	}
	var pkgs []listed
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// `go test ./... -update` fails in every test binary that does not know the
// flag, so each package with tests imports this one (or, until it moves
// here, registers its own -update).
func TestEveryTestPackageTakesUpdate(t *testing.T) {
	for _, p := range goList(t, "./...") {
		files := append(p.TestGoFiles, p.XTestGoFiles...)
		if len(files) == 0 || p.ImportPath == importPath ||
			slices.Contains(p.TestImports, importPath) || slices.Contains(p.XTestImports, importPath) {
			continue
		}
		own := false
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			own = own || bytes.Contains(b, []byte(`flag.Bool("update"`))
		}
		if !own {
			t.Errorf("%s has tests but does not import %s: go test ./... -update fails there", p.ImportPath, importPath)
		}
	}
}

// The package registers a test flag: it must never reach the binary.
func TestNotInTheBinary(t *testing.T) {
	for _, p := range goList(t, "./cmd/...") {
		for _, d := range p.Deps {
			if d == importPath || strings.HasPrefix(d, importPath+"/") {
				t.Errorf("%s links %s", p.ImportPath, d)
			}
		}
	}
}
