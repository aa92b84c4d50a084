package config
import ("testing";"path/filepath")
func TestM(t *testing.T){ for _, p := range []string{"/x/[", "/a/b[", "/x\\", "/x/[]a]"} { _, err := filepath.Match(p, ""); t.Log(p, err) } }
