package action

import (
	"errors"
	"slices"
	"testing"
)

func TestResult(t *testing.T) {
	down, refused := errors.New("down"), errors.New("refused")
	for _, tt := range []struct {
		name string
		errs []error
		want string
		idx  []int // nil: not a *Failed
	}{
		{"all took effect", []error{nil, nil}, "", nil},
		{"some failed", []error{nil, down, nil, refused}, "2 of the decisions failed; first: down", []int{1, 3}},
		{"all failed alike", []error{down, down, down}, "down", nil},
		{"all failed differently", []error{down, refused}, "down\nrefused", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Result(tt.errs)
			got := ""
			if err != nil {
				got = err.Error()
			}
			var f *Failed
			isFailed := errors.As(err, &f)
			if got != tt.want || isFailed != (tt.idx != nil) || (isFailed && !slices.Equal(f.Index, tt.idx)) {
				t.Errorf("Result = %q (*Failed %v %+v), want %q with indexes %v", got, isFailed, f, tt.want, tt.idx)
			}
		})
	}
}
