package execaction

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/peerjail/peerjail/internal/jail"
)

// Placeholders are the names an argument may hold in braces, each replaced
// by the decision's value: {jail}, {key} (an address, a CIDR prefix or an
// identity), {action} (ban or unban), {at} and {until} (RFC 3339 UTC),
// {duration} (whole seconds), {addrs} (an identity's addresses, comma
// separated), {hits} and {offences}. An unban has no until, duration, hits
// or offences: they are empty.
var Placeholders = []string{"jail", "key", "action", "at", "until", "duration", "addrs", "hits", "offences"}

// part of an argument: literal text, or a placeholder when name is set.
type part struct {
	text string
	name string
}

// arg is one argument, split once at New so that a decision's values are
// put in place and never read for placeholders themselves.
type arg []part

// parseArg splits s at its placeholders. Braces around anything else
// ("{ 1.2.3.4 }", "{}", "${HOME}" with an upper-case name) stay literal;
// braces around a lower-case word that is no placeholder are an error, so
// that a typo ({kye}) does not reach the program.
func parseArg(s string) (arg, error) {
	var a arg
	lit := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		end := strings.IndexByte(s[i+1:], '}')
		if end < 0 {
			break
		}
		name := s[i+1 : i+1+end]
		if !isWord(name) {
			continue
		}
		if !slices.Contains(Placeholders, name) {
			return nil, fmt.Errorf("{%s} is no placeholder (they are {%s})", name, strings.Join(Placeholders, "}, {"))
		}
		if lit < i {
			a = append(a, part{text: s[lit:i]})
		}
		a = append(a, part{name: name})
		i += end + 1
		lit = i + 1
	}
	if lit < len(s) || len(a) == 0 {
		a = append(a, part{text: s[lit:]})
	}
	return a, nil
}

func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// expand writes a with the values of vars.
func (a arg) expand(vars map[string]string) string {
	if len(a) == 1 && a[0].name == "" {
		return a[0].text
	}
	var b strings.Builder
	for _, p := range a {
		if p.name == "" {
			b.WriteString(p.text)
		} else {
			b.WriteString(vars[p.name])
		}
	}
	return b.String()
}

// values are the placeholders' values for d.
func values(d jail.Decision) map[string]string {
	addrs := make([]string, len(d.Addrs))
	for i, p := range d.Addrs {
		addrs[i] = jail.Key{Prefix: p}.String()
	}
	v := map[string]string{
		"jail":   d.Jail,
		"key":    d.Key.String(),
		"action": d.Action.String(),
		"at":     stamp(d.At),
		"addrs":  strings.Join(addrs, ","),
	}
	if d.Action == jail.ActionBan {
		v["until"] = stamp(d.Until)
		v["duration"] = strconv.FormatInt(int64(d.Duration/time.Second), 10)
		v["hits"] = strconv.Itoa(d.Hits)
		v["offences"] = strconv.Itoa(d.Offences)
	}
	return v
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// environ is the program's whole environment: the placeholders' values as
// PEERJAIL_<NAME>, and PATH. Nothing else of peerjail's environment
// reaches the program.
func environ(vars map[string]string, path string) []string {
	env := make([]string, 0, len(Placeholders)+1)
	for _, name := range Placeholders {
		env = append(env, "PEERJAIL_"+strings.ToUpper(name)+"="+vars[name])
	}
	return append(env, "PATH="+path)
}
