package gpuspec

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinel classes of a refused request. Every error Parse returns is an
// *Error whose Err is one of these, so callers can use errors.Is.
var (
	// ErrSyntax: the text is not the shorthand (a stray character, a missing
	// parenthesis, an empty field, a malformed name or memory amount).
	ErrSyntax = errors.New("syntax")
	// ErrRange: a number outside what is accepted (counts 1..64, shares
	// 0.01..0.99, memory above 0 and at most 64Ti, the input's length).
	ErrRange = errors.New("out of range")
	// ErrPrecision: a number finer than what can be allocated (a share finer
	// than a hundredth of a card, memory that is not a whole number of MiB).
	ErrPrecision = errors.New("too precise")
	// ErrConflict: parts that are fine alone but do not go together (memory
	// for whole cards, VGPU written twice, something in parentheses after 0).
	ErrConflict = errors.New("conflicting parts")
)

// Error is a refused request. Its message quotes the input, names the part
// that is wrong and says what would be accepted, so it can be shown to the
// person who wrote the request as is.
type Error struct {
	// Input is the request as written.
	Input string
	// Offset is the byte offset in Input of the offending part; len(Input)
	// when something is missing at the end.
	Offset int
	// Part is the offending part as written; empty when something is missing.
	Part string
	// Msg says what is wrong, quoting Part where that helps.
	Msg string
	// Hint says what would be accepted; may be empty.
	Hint string
	// Err is the class: ErrSyntax, ErrRange, ErrPrecision, ErrConflict, or a
	// sentinel of the package that resolves requests (pkg/catalog).
	Err error
}

// MaxQuote bounds, in bytes, how much of the input an error message
// quotes: a longer input is cut at a rune boundary and "…" marks the cut,
// so that a huge annotation is not echoed back whole.
const MaxQuote = 64

// QuoteInput quotes the input as error messages do: whole up to MaxQuote
// bytes, else its first MaxQuote bytes or fewer, never splitting a UTF-8
// sequence, followed by "…".
func QuoteInput(s string) string {
	if len(s) <= MaxQuote {
		return strconv.Quote(s)
	}
	cut := MaxQuote
	if start := splitAt(s, cut); start >= 0 {
		cut = start
	}
	return strconv.Quote(s[:cut] + "…")
}

// splitAt returns the start of the UTF-8 sequence that offset cut of s
// falls inside, or -1 when cut is at a boundary (or inside bytes that are
// not UTF-8 anyway).
func splitAt(s string, cut int) int {
	for k := 1; k < utf8.UTFMax && k <= cut; k++ {
		r, w := utf8.DecodeRuneInString(s[cut-k:])
		if (r != utf8.RuneError || w > 1) && w > k {
			return cut - k
		}
	}
	return -1
}

// Error renders `"INPUT": MSG; HINT`, the input quoted by QuoteInput.
func (e *Error) Error() string {
	var b strings.Builder
	b.Grow(min(len(e.Input), MaxQuote) + len(e.Msg) + len(e.Hint) + 16)
	b.WriteString(QuoteInput(e.Input))
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap returns the sentinel class.
func (e *Error) Unwrap() error { return e.Err }

// Caret returns two lines, the input and a caret under the offending part,
// for a terminal; webhook messages use Error alone.
func (e *Error) Caret() string {
	off := min(max(e.Offset, 0), len(e.Input))
	// Count runes, not bytes, so the caret lines up under full-width text
	// at least as well as a monospace terminal allows.
	n := len([]rune(e.Input[:off]))
	return e.Input + "\n" + strings.Repeat(" ", n) + "^"
}
