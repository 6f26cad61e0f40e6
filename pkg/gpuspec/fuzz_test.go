package gpuspec

import (
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
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
	for _, in := range []string{"1(A100,mig-3g.40gb)", "1(mig-1g.10gb.me)", "0.5(mig-3g.40gb)", "2(mig-1g.10gb)",
		"1(VGPU,mig-1g.10gb,8Gi)", "1(mig-1g.10gb|A100)", "1(nvidia,A30,MIG-4G.24GB)"} {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := Parse(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q): error %T is not *Error", in, err)
			}
			if e.Input != in {
				t.Fatalf("Parse(%q): error for input %q", in, e.Input)
			}
			checkQuote(t, in, e.Error())
			checkHint(t, e)
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

// checkQuote checks that an error message starts with the input quoted and
// capped: whole up to MaxQuote bytes, else a prefix of at most MaxQuote
// bytes that ends on a character boundary, followed by "…".
func checkQuote(t *testing.T, in, text string) {
	t.Helper()
	q, err := strconv.QuotedPrefix(text)
	if err != nil || !strings.HasPrefix(text[len(q):], ": ") {
		t.Fatalf("error %q does not start with a quoted input", text)
	}
	quoted, err := strconv.Unquote(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(in) <= MaxQuote {
		if quoted != in {
			t.Fatalf("error %q quotes %q, want the whole input %q", text, quoted, in)
		}
		return
	}
	prefix, cut := strings.CutSuffix(quoted, "…")
	switch {
	case !cut || !strings.HasPrefix(in, prefix):
		t.Fatalf("error %q: the quote of a %d-byte input is not a prefix and \"…\"", text, len(in))
	case len(prefix) > MaxQuote || MaxQuote-len(prefix) >= utf8.UTFMax,
		len(prefix) < MaxQuote && splitAt(in, MaxQuote) != len(prefix):
		t.Fatalf("error %q quotes %d bytes of the input, want %d less at most a character", text, len(prefix), MaxQuote)
	case splitAt(in, len(prefix)) >= 0:
		t.Fatalf("error %q cuts the input inside a character", text)
	}
}

// rewrite finds the requests a hint proposes: numbers, with what follows in
// parentheses, standing as words ("write 2(V100) or 1(V100)", "0.5").
var rewrite = regexp.MustCompile(`(?:^|\s)(\d[\d.]*(?:\([^()\s]*\))?)(?:$|[\s,;:])`)

// hintRewrites returns the requests a hint proposes.
func hintRewrites(hint string) []string {
	var out []string
	for _, m := range rewrite.FindAllStringSubmatch(hint, -1) {
		out = append(out, m[1])
	}
	return out
}

// checkHint checks that every request (or memory amount) a refusal's hint
// proposes is accepted: a hint never sends its reader to another refusal.
func checkHint(t *testing.T, e *Error) {
	t.Helper()
	for _, r := range hintRewrites(e.Hint) {
		// A memory amount fixes the syntax of one field: it may still be
		// out of range, but not refused for the same kind of fault.
		if _, err := Parse(r); err != nil {
			if _, merr := ParseMemory(r); merr != nil && errors.Is(merr, e.Err) {
				t.Errorf("Parse(%q) hints %q, which is refused: %v", e.Input, r, err)
			}
		}
	}
}
