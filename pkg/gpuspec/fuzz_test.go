package gpuspec

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is an *Error
// of a known class pointing inside the input, and that every accepted input
// round-trips through String. Seeds: testdata/fuzz/FuzzParse plus the test
// tables.
func FuzzParse(f *testing.F) {
	for _, tc := range acceptedCases {
		f.Add(tc.in)
	}
	for _, tc := range refusedCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := Parse(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q): error %T is not *Error", in, err)
			}
			if e.Input != in || !strings.HasPrefix(e.Error(), strconv.Quote(in)+": ") {
				t.Fatalf("Parse(%q): error %q does not quote the input", in, e.Error())
			}
			if e.Offset < 0 || e.Offset > len(in) {
				t.Fatalf("Parse(%q): offset %d outside the input", in, e.Offset)
			}
			if e.Part != "" && !strings.HasPrefix(in[e.Offset:], e.Part) {
				t.Fatalf("Parse(%q): part %q is not at offset %d", in, e.Part, e.Offset)
			}
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrRange) && !errors.Is(err, ErrPrecision) && !errors.Is(err, ErrConflict) {
				t.Fatalf("Parse(%q): error of unknown class %v", in, e.Err)
			}
			if e.Msg == "" || e.Hint == "" {
				t.Fatalf("Parse(%q): error without message or hint: %#v", in, e)
			}
			return
		}
		if verr := r.Validate(); verr != nil {
			t.Fatalf("Parse(%q) = %#v, which Validate refuses: %v", in, r, verr)
		}
		canon := r.String()
		back, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) = %#v; its String %q is refused: %v", in, r, canon, err)
		}
		if !reflect.DeepEqual(back, r) {
			t.Fatalf("Parse(%q) = %#v; Parse(%q) = %#v", in, r, canon, back)
		}
		if again := back.String(); again != canon {
			t.Fatalf("String not stable: %q then %q", canon, again)
		}
	})
}
