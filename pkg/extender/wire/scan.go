package wire

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// maxJSONDepth is how deeply encoding/json lets containers nest; the wire
// decoders refuse what it refuses.
const maxJSONDepth = 10000

// wireScanner walks a JSON document with the grammar encoding/json's own
// scanner accepts (RFC 8259; invalid UTF-8 inside strings is let through,
// as encoding/json does, and replaced when the string is decoded). It only
// checks and skips: what a value means is the decoder's business.
type wireScanner struct {
	data []byte
	pos  int
	// reuse is what DecodeExtenderArgsWith was lent.
	reuse Reuse
}

func (s *wireScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek is the byte at pos, 0 at the end of the data (0 is never valid
// between tokens, so callers need not tell the two apart).
func (s *wireScanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// syntaxError says where the document stops being JSON and what was there.
func (s *wireScanner) syntaxError(want string) error {
	found := "the end of the body"
	if s.pos < len(s.data) {
		found = strconv.QuoteRuneToASCII(rune(s.data[s.pos]))
		if s.data[s.pos] >= 0x80 {
			found = fmt.Sprintf("byte 0x%02x", s.data[s.pos])
		}
	}
	return fmt.Errorf("%w: not JSON at byte %d: want %s, found %s", ErrBadRequest, s.pos, want, found)
}

// expect consumes c or fails saying what was wanted.
func (s *wireScanner) expect(c byte, want string) error {
	if s.peek() != c {
		return s.syntaxError(want)
	}
	s.pos++
	return nil
}

// scanString moves past the string that starts at pos. plain says it has
// neither escapes nor bytes beyond ASCII, so its bytes between the quotes
// are its value.
func (s *wireScanner) scanString() (plain bool, err error) {
	if s.peek() != '"' {
		return false, s.syntaxError("a string")
	}
	plain = true
	i := s.pos + 1
	for i < len(s.data) {
		// Eight bytes at a time while none ends the string, escapes or is
		// beyond ASCII: the names of thousands of candidates are read here,
		// on one core, before the call's work is shared out.
		for i+8 <= len(s.data) && plain8(s.data[i:i+8]) {
			i += 8
		}
		if i == len(s.data) {
			break
		}
		c := s.data[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return plain, nil
		case c == '\\':
			plain = false
			i++
			if i >= len(s.data) {
				s.pos = i
				return false, s.syntaxError("an escaped character")
			}
			switch s.data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				for j := 1; j <= 4; j++ {
					if i+j >= len(s.data) || !isHex(s.data[i+j]) {
						s.pos = i + j
						return false, s.syntaxError("4 hexadecimal digits after \\u")
					}
				}
				i += 5
			default:
				s.pos = i
				return false, s.syntaxError(`one of "\/bfnrtu after a backslash`)
			}
		case c < 0x20:
			s.pos = i
			return false, s.syntaxError("no control character inside a string")
		default:
			if c >= 0x80 {
				plain = false
			}
			i++
		}
	}
	s.pos = i
	return false, s.syntaxError(`the string's closing '"'`)
}

// plain8 tells whether none of b's 8 bytes is a quote, a backslash, a
// control character or beyond ASCII.
func plain8(b []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	x := binary.LittleEndian.Uint64(b)
	// hasZero(v) is nonzero exactly when some byte of v is 0.
	hasZero := func(v uint64) uint64 { return (v - ones) &^ v & highs }
	bad := x&highs | // beyond ASCII
		(x-0x20*ones)&^x&highs | // control characters
		hasZero(x^('"'*ones)) | hasZero(x^('\\'*ones))
	return bad == 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber moves past -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *wireScanner) scanNumber() error {
	if s.peek() == '-' {
		s.pos++
	}
	switch c := s.peek(); {
	case c == '0':
		s.pos++
	case '1' <= c && c <= '9':
		s.skipDigits()
	default:
		return s.syntaxError("a digit")
	}
	if s.peek() == '.' {
		s.pos++
		if !isDigit(s.peek()) {
			return s.syntaxError("a digit after the decimal point")
		}
		s.skipDigits()
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.pos++
		if c := s.peek(); c == '+' || c == '-' {
			s.pos++
		}
		if !isDigit(s.peek()) {
			return s.syntaxError("a digit in the exponent")
		}
		s.skipDigits()
	}
	return nil
}

func (s *wireScanner) skipDigits() {
	for s.pos < len(s.data) && isDigit(s.data[s.pos]) {
		s.pos++
	}
}

// scanLiteral moves past true, false or null.
func (s *wireScanner) scanLiteral() error {
	for _, lit := range [...]string{"true", "false", "null"} {
		if s.peek() != lit[0] {
			continue
		}
		for i := 1; i < len(lit); i++ {
			s.pos++
			if s.peek() != lit[i] {
				return s.syntaxError(strconv.Quote(lit))
			}
		}
		s.pos++
		return nil
	}
	return s.syntaxError("a JSON value")
}

// skipValue moves past one value (leading space included) inside depth
// open containers, checking its syntax and its nesting against
// encoding/json's limit. It keeps its own stack rather than recursing: a
// body may nest ten thousand deep.
func (s *wireScanner) skipValue(depth int) error {
	var stack []byte // '{' or '[' per open container
	for {
		// A value.
		s.skipSpace()
		switch c := s.peek(); c {
		case '{', '[':
			if depth+len(stack)+1 > maxJSONDepth {
				return fmt.Errorf("%w: not JSON at byte %d: nested deeper than %d", ErrBadRequest, s.pos, maxJSONDepth)
			}
			s.pos++
			s.skipSpace()
			if c == '{' && s.peek() == '}' || c == '[' && s.peek() == ']' {
				s.pos++
				break
			}
			stack = append(stack, c)
			if c == '{' {
				if err := s.skipKey(); err != nil {
					return err
				}
			}
			continue
		case '"':
			if _, err := s.scanString(); err != nil {
				return err
			}
		case 't', 'f', 'n':
			if err := s.scanLiteral(); err != nil {
				return err
			}
		default:
			if c == '-' || isDigit(c) {
				if err := s.scanNumber(); err != nil {
					return err
				}
				break
			}
			return s.syntaxError("a JSON value")
		}
		// After a value: close containers until one goes on.
		for {
			if len(stack) == 0 {
				return nil
			}
			s.skipSpace()
			top := stack[len(stack)-1]
			c := s.peek()
			if c == ',' {
				s.pos++
				if top == '{' {
					s.skipSpace()
					if err := s.skipKey(); err != nil {
						return err
					}
				}
				break
			}
			if top == '{' && c == '}' || top == '[' && c == ']' {
				s.pos++
				stack = stack[:len(stack)-1]
				continue
			}
			if top == '{' {
				return s.syntaxError("',' or '}' after an object member")
			}
			return s.syntaxError("',' or ']' after an array element")
		}
	}
}

// skipKey moves past an object member's name and its colon.
func (s *wireScanner) skipKey() error {
	if _, err := s.scanString(); err != nil {
		return err
	}
	s.skipSpace()
	return s.expect(':', "':' after an object key")
}
