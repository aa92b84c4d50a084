package filter

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

var (
	errBadPath      = errors.New("path must be keys separated by dots")
	errTooManyPaths = fmt.Errorf("a json filter reads at most %d fields", maxSlots)
	errValueCount   = errors.New("wrong number of values for the operator")
	errBadOp        = errors.New("unknown operator")
)

// jsonCond is a compiled Condition. Values are sorted by type so a JSON value is
// compared only with values of its own kind.
type jsonCond struct {
	jsonField
	op     Op
	exists bool
	strs   []string // string values, plus "true"/"false" for bools
	nums   []float64
	isTrue bool // the bool true is a value
	isFals bool
	isNull bool
	re     *regexp.Regexp
}

func compileCond(root *pathNode, c Condition) (jsonCond, error) {
	f, err := parsePath(root, c.Path)
	if err != nil {
		return jsonCond{}, err
	}
	k := jsonCond{jsonField: f, op: c.Op, exists: c.Exists}
	switch c.Op {
	case OpEqual, OpOneOf:
		if c.Op == OpEqual && len(c.Values) != 1 || len(c.Values) == 0 {
			return jsonCond{}, fmt.Errorf("%d values: %w", len(c.Values), errValueCount)
		}
		for _, v := range c.Values {
			if err := k.addValue(v); err != nil {
				return jsonCond{}, err
			}
		}
	case OpRegex:
		if k.re, err = regexp.Compile(c.Regex); err != nil {
			return jsonCond{}, err
		}
	case OpExists:
	default:
		return jsonCond{}, fmt.Errorf("%d: %w", c.Op, errBadOp)
	}
	return k, nil
}

func (k *jsonCond) addValue(v any) error {
	switch v := v.(type) {
	case string:
		k.strs = append(k.strs, v)
	case float64:
		k.nums = append(k.nums, v)
	case int:
		k.nums = append(k.nums, float64(v))
	case bool:
		k.strs = append(k.strs, strconv.FormatBool(v))
		if v {
			k.isTrue = true
		} else {
			k.isFals = true
		}
	case nil:
		k.isNull = true
	default:
		return fmt.Errorf("value %v of type %T: want a string, number, bool or null", v, v)
	}
	return nil
}

// holdsJSON tests the condition on the value s found in line b.
func (k *jsonCond) holdsJSON(b []byte, s valueSpan) bool {
	if k.op == OpExists {
		return (s.kind != kAbsent) == k.exists
	}
	text := b[s.start:s.end]
	switch s.kind {
	case kString:
		if k.op == OpRegex {
			if s.esc {
				text = jsonUnescape(nil, text)
			}
			return k.re.Match(text)
		}
		for _, w := range k.strs {
			if s.esc && unescapedEqual(text, w) || !s.esc && string(text) == w {
				return true
			}
		}
	case kNumber:
		if k.op == OpRegex {
			return k.re.Match(text)
		}
		return k.numEqual(text)
	case kTrue:
		return k.isTrue
	case kFalse:
		return k.isFals
	case kNull:
		return k.isNull
	}
	return false
}

// numEqual compares a JSON number with the values; a number too large for a
// float64 equals none.
func (k *jsonCond) numEqual(text []byte) bool {
	if len(k.nums) == 0 {
		return false
	}
	x, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return false
	}
	for _, v := range k.nums {
		if x == v {
			return true
		}
	}
	return false
}

// holdsJournal tests the condition on journald's fields, whose values are
// text: they compare like JSON strings.
func (k *jsonCond) holdsJournal(fields map[string]string) bool {
	v, ok := fields[k.journal]
	switch {
	case k.op == OpExists:
		return ok == k.exists
	case !ok:
		return false
	case k.op == OpRegex:
		return k.re.MatchString(v)
	}
	for _, w := range k.strs {
		if v == w {
			return true
		}
	}
	return false
}

// needle is the text a line must contain for the condition to hold: the
// quoted key its path ends with. A key with characters that JSON may write
// as short escapes ("\/") gets none; \u escapes are handled by the caller.
func (k *jsonCond) needle() string {
	if k.journal != "" || k.op == OpExists && !k.exists {
		return ""
	}
	key := k.node.key
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c == '"' || c == '\\' || c == '/' {
			return ""
		}
	}
	return `"` + key + `"`
}
