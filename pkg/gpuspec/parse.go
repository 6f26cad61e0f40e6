package gpuspec

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxInputLen bounds a request in bytes; longer input is refused before it
// is looked at, which keeps every parse cheap whatever is written.
const MaxInputLen = 512

// accepted lists the forms, for hints where nothing more specific fits.
const accepted = "write a count such as 2, a type such as 2(V100) or 2(V100|A100), 1(VGPU), " +
	"a share of one card such as 0.5 or 0.5(T4,8Gi), a vendor such as 1(ascend) or 2(amd,MI250), or 0 for no GPU"

// Parse parses the request shorthand (see the package documentation for
// the grammar). It never panics; errors are *Error.
func Parse(s string) (Request, error) {
	if len(s) > MaxInputLen {
		return Request{}, &Error{Input: s, Offset: MaxInputLen,
			Msg:  fmt.Sprintf("the request is %d bytes long, more than %d", len(s), MaxInputLen),
			Hint: accepted, Err: ErrRange}
	}
	return parse(s, false)
}

// parse is Parse; quiet skips checking the rewrites a hint proposes (see
// parser.suggest), which is how those checks parse without recursing.
func parse(s string, quiet bool) (Request, error) {
	p := parser{in: s, quiet: quiet}
	if err := p.normalize(); err != nil {
		return Request{}, err
	}
	var r Request
	if err := p.parse(&r); err != nil {
		return Request{}, err
	}
	return r, nil
}

// accepts reports whether s parses.
func accepts(s string) bool {
	_, err := parse(s, true)
	return err == nil
}

// parser reads src, the input with whitespace dropped and full-width
// forms folded to ASCII, and reports errors at offsets of the input as
// written.
type parser struct {
	in    string // as written
	src   string // normalised: printable ASCII, no whitespace
	offs  []int  // offs[i] is the offset in `in` of src[i]; nil when src == in
	quiet bool   // parsing a hint's rewrite: do not check rewrites in turn
}

// parses returns the rewrites of the input that parse, without
// repeats, so that a hint never proposes what would be refused. A quiet
// parser does not check (its hints are not shown) and keeps them all.
func (p *parser) parses(rewrites ...string) []string {
	ok := rewrites[:0:0]
	for _, r := range rewrites {
		if r != "" && !slices.Contains(ok, r) && (p.quiet || accepts(r)) {
			ok = append(ok, r)
		}
	}
	return ok
}

// first returns the first of the rewrites that parses (checking no more),
// or "".
func (p *parser) first(rewrites ...string) string {
	for _, r := range rewrites {
		if r != "" && (p.quiet || accepts(r)) {
			return r
		}
	}
	return ""
}

// rewrite is a hint proposing the first of the rewrites that parses,
// "write R", or else fallback.
func (p *parser) rewrite(fallback string, rewrites ...string) string {
	if r := p.first(rewrites...); r != "" {
		return "write " + r
	}
	return fallback
}

// normalize fills src. The common case, printable ASCII without spaces,
// costs one pass and no allocation.
func (p *parser) normalize() error {
	s := p.in
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			plain = false
			break
		}
	}
	if plain {
		p.src = s
		return nil
	}
	b := make([]byte, 0, len(s))
	offs := make([]int, 0, len(s))
	space := -1 // the offset of the white space since the last character kept
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		c := byte(0) // r folded to ASCII, if it is kept
		switch {
		case r == utf8.RuneError && w <= 1:
			return &Error{Input: s, Offset: i, Part: s[i : i+1],
				Msg:  fmt.Sprintf("byte 0x%02x at offset %d is not UTF-8 text", s[i], i),
				Hint: accepted, Err: ErrSyntax}
		case unicode.IsSpace(r):
			// Spaces are ignored wherever they are, except inside a number.
			if space < 0 {
				space = i
			}
		case fold(r) != 0:
			c = fold(r)
		default:
			return &Error{Input: s, Offset: i, Part: s[i : i+w],
				Msg:  fmt.Sprintf("unexpected character %q at offset %d", r, i),
				Hint: accepted, Err: ErrSyntax}
		}
		if c != 0 {
			if space >= 0 && len(b) > 0 && isNumberChar(b[len(b)-1]) && isNumberChar(c) {
				return p.spaceInNumber(b, space, i)
			}
			b = append(b, c)
			offs = append(offs, i)
			space = -1
		}
		i += w
	}
	p.src = string(b)
	p.offs = offs
	return nil
}

// fold returns the printable ASCII character r is or stands for, 0 for
// none: full-width forms of ASCII, as typed with a CJK input method
// (（）， and the rest), count as ()、, etc.
func fold(r rune) byte {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return byte(r - 0xFEE0)
	case r > ' ' && r < 0x7f:
		return byte(r)
	}
	return 0
}

// isNumberChar tells the characters of counts, shares and memory amounts
// that a space may not separate.
func isNumberChar(c byte) bool { return isDigit(c) || c == '.' }

// spaceInNumber refuses white space at in[space:next] between two
// characters of one number, src the input read so far: "1 0(V100)" is a
// typo far more often than ten cards.
func (p *parser) spaceInNumber(src []byte, space, next int) error {
	in := p.in
	left := len(src)
	for left > 0 && isNumberChar(src[left-1]) {
		left--
	}
	right, digits := next, []byte(nil)
	for right < len(in) {
		r, w := utf8.DecodeRuneInString(in[right:])
		if !isNumberChar(fold(r)) {
			break
		}
		digits = append(digits, fold(r))
		right += w
	}
	number := string(src[left:]) + in[space:next] + string(digits)
	hint := "a number is written without spaces"
	// The number joined, or cut at the space.
	if ok := p.parses(canonical(in[:space]+in[next:]), canonical(in[:space]+in[right:])); len(ok) > 0 {
		hint += ": write " + strings.Join(ok, " or ")
	}
	return &Error{Input: in, Offset: space, Part: in[space:next],
		Msg: fmt.Sprintf("a space inside the number %q", number), Hint: hint, Err: ErrSyntax}
}

// canonical is the canonical form of s, or "" when s is refused.
func canonical(s string) string {
	r, err := parse(s, true)
	if err != nil {
		return ""
	}
	return r.String()
}

// off maps a position of src to an offset of the input.
func (p *parser) off(i int) int {
	if i >= len(p.src) {
		return len(p.in)
	}
	if p.offs == nil {
		return i
	}
	return p.offs[i]
}

// part returns the input as written that src[i:j] came from.
func (p *parser) part(i, j int) string {
	if i >= j {
		return ""
	}
	return strings.TrimRightFunc(p.in[p.off(i):p.off(j)], unicode.IsSpace)
}

func (p *parser) fail(i, j int, class error, msg, hint string) error {
	return &Error{Input: p.in, Offset: p.off(i), Part: p.part(i, j), Msg: msg, Hint: hint, Err: class}
}

// unexpected reports the character at src[i].
func (p *parser) unexpected(i int, where, hint string) error {
	part := p.part(i, i+1)
	return p.fail(i, i+1, ErrSyntax, fmt.Sprintf("unexpected %q at offset %d%s", part, p.off(i), where), hint)
}

func (p *parser) parse(r *Request) error {
	src := p.src
	if src == "" {
		return p.fail(0, 0, ErrSyntax, "the request is empty", accepted)
	}
	i, err := p.parseAmount(r)
	if err != nil || i == len(src) {
		return err
	}
	switch c := src[i]; {
	case c == '(' && r.Count == 0 && r.Hundredths == 0:
		return p.fail(0, len(src), ErrConflict, "0 means no GPU and takes nothing in parentheses",
			"write 0 alone, or a count from 1 to 64 such as "+cmp.Or(p.first("1"+src[i:]), "1"))
	case c == '(':
		return p.parseArgs(i+1, r)
	case isLetter(c):
		j := i
		for j < len(src) && isNameChar(src[j]) {
			j++
		}
		return p.fail(i, j, ErrSyntax, fmt.Sprintf("expected \"(\" before %q", p.part(i, j)),
			p.rewrite("put the type in parentheses, as in 2(V100)", src[:i]+"("+src[i:j]+")", "1("+src[i:j]+")"))
	case c == ')':
		return p.unexpected(i, " without an opening \"(\"", "write e.g. "+cmp.Or(p.first(src[:i]+"(T4)", src[:i]), "2(T4)"))
	}
	return p.unexpected(i, " after "+strconv.Quote(p.part(0, i)), accepted)
}

// parseAmount reads the count, the share or 0 at the start, and returns
// where it stopped.
func (p *parser) parseAmount(r *Request) (int, error) {
	src := p.src
	i := 0
	for i < len(src) && isDigit(src[i]) {
		i++
	}
	digits := src[:i]
	switch {
	case i == 0 && src[0] == '-':
		j := 1
		for j < len(src) && (isDigit(src[j]) || src[j] == '.') {
			j++
		}
		if j == 1 {
			return 0, p.unexpected(0, "", accepted)
		}
		return 0, p.fail(0, j, ErrRange, "the amount is negative",
			"write a count from 1 to 64, a share from 0.01 to 0.99, or 0 for no GPU")
	case i == 0 && src[0] == '.':
		j := 1
		for j < len(src) && isDigit(src[j]) {
			j++
		}
		return 0, p.fail(0, j, ErrSyntax, "a share needs a digit before the point",
			p.rewrite("write a share such as 0.5", "0"+src[:j]))
	case i == 0 && isLetter(src[0]):
		j := 0
		for j < len(src) && isNameChar(src[j]) {
			j++
		}
		return 0, p.fail(0, j, ErrSyntax, fmt.Sprintf("a request starts with a number, not %q", p.part(0, j)),
			"put the count first: "+cmp.Or(p.first("1("+src[:j]+")"), "1(V100)"))
	case i == 0:
		return 0, p.unexpected(0, "", accepted)
	}

	if i < len(src) && src[i] == '.' {
		return p.parseShare(r, i)
	}
	if len(digits) > 1 && digits[0] == '0' {
		trimmed := strings.TrimLeft(digits, "0")
		if trimmed == "" {
			trimmed = "0"
		}
		return 0, p.fail(0, i, ErrSyntax, "a count is written without leading zeros",
			p.rewrite("write the count without leading zeros, as in 2", trimmed+src[i:], trimmed))
	}
	n := 0
	for _, c := range digits {
		n = n*10 + int(c-'0')
		if n > MaxCount {
			break
		}
	}
	if n > MaxCount {
		return 0, p.fail(0, i, ErrRange, fmt.Sprintf("%s cards is more than %d", p.part(0, i), MaxCount),
			"ask for at most 64 whole cards; the scheduler also refuses more than any one node has")
	}
	r.Count = n
	return i, nil
}

// parseShare reads "0.DD" with the point at src[dot].
func (p *parser) parseShare(r *Request, dot int) (int, error) {
	src := p.src
	digits := src[:dot]
	j := dot + 1
	for j < len(src) && isDigit(src[j]) {
		j++
	}
	frac := src[dot+1 : j]
	if frac == "" {
		hint := "write a share such as 0.5"
		if t := strings.TrimLeft(digits, "0"); t != "" && len(p.parses(t)) > 0 {
			hint = "write a whole count such as " + t + ", or a share such as 0.5"
		}
		return 0, p.fail(0, j, ErrSyntax, "a share needs a digit after the point", hint)
	}
	fracTrim := strings.TrimRight(frac, "0")
	if digits != "0" {
		intTrim := strings.TrimLeft(digits, "0")
		switch {
		case intTrim == "":
			return 0, p.fail(0, j, ErrSyntax, "a share is written with a single 0 before the point",
				p.rewrite("write a share such as 0.5", "0."+frac))
		case fracTrim == "":
			return 0, p.fail(0, j, ErrSyntax, "a whole count is written without a point",
				p.rewrite("write a whole count such as 2", intTrim))
		case len(intTrim) <= 2 && atoi(intTrim) < MaxCount:
			return 0, p.fail(0, j, ErrRange, "fractions must be below 1",
				fmt.Sprintf("ask for %d cards or %s", atoi(intTrim)+1, cmp.Or(p.first("0."+fracTrim), "a share such as 0.5")))
		}
		return 0, p.fail(0, j, ErrRange, "fractions must be below 1",
			"ask for at most 64 whole cards, or a share of one card such as 0.5")
	}
	if fracTrim == "" {
		return 0, p.fail(0, j, ErrRange, "a share of 0 is no share",
			"write 0 for no GPU, or a share from 0.01 to 0.99")
	}
	if len(fracTrim) > 2 {
		lo := atoi(fracTrim[:2])
		var hint string
		switch {
		case lo == 0:
			hint = "vGPU cores are hundredths of a card: write 0.01"
		case lo == 99:
			hint = "vGPU cores are hundredths of a card: write 0.99, or 1 for a whole card"
		default:
			hint = fmt.Sprintf("vGPU cores are hundredths of a card: write %s or %s",
				FormatHundredths(lo), FormatHundredths(lo+1))
		}
		return 0, p.fail(0, j, ErrPrecision, "a share finer than a hundredth of a card", hint)
	}
	h := atoi(fracTrim)
	if len(fracTrim) == 1 {
		h *= 10
	}
	r.Hundredths = h
	return j, nil
}

// atoi reads a short run of digits the caller has checked.
func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// span is a part of src.
type span struct{ i, j int }

// parseArgs reads the fields after "(" at src[i] up to ")" and the end.
func (p *parser) parseArgs(i int, r *Request) error {
	src := p.src
	open := i - 1
	if i < len(src) && src[i] == ')' {
		amount := src[:open]
		return p.fail(open, i+1, ErrSyntax, "the parentheses are empty",
			fmt.Sprintf("write %s for any card, or name a type: %s", cmp.Or(p.first(amount), "2"), cmp.Or(p.first(amount+"(T4)"), "2(T4)")))
	}
	var (
		names  [2]span // name fields, in written order
		nNames int
		memAt  = -1
		vgpuAt = -1
		migAt  = span{-1, -1}
	)
	for {
		if i == len(src) {
			return p.missingClose(i, open)
		}
		start := i
		switch c := src[i]; {
		case c == ',' || c == ')':
			return p.fail(i, i+1, ErrSyntax, fmt.Sprintf("empty field before %q at offset %d", p.part(i, i+1), p.off(i)),
				"fields are separated by one comma, e.g. 0.5(T4,8Gi)")
		case c == '|':
			return p.fail(i, i+1, ErrSyntax, fmt.Sprintf("\"|\" at offset %d has no name before it", p.off(i)),
				"alternatives are written T1|T2, e.g. 2(V100|A100)")
		case isDigit(c) || c == '.':
			for i < len(src) && (isDigit(src[i]) || isLetter(src[i]) || src[i] == '.') {
				i++
			}
			if memAt >= 0 {
				return p.fail(start, i, ErrConflict, fmt.Sprintf("a second memory amount %q", p.part(start, i)),
					"give one memory amount, e.g. 0.5(T4,8Gi)")
			}
			b, pe := parseMemory(src[start:i])
			if pe != nil {
				return p.fail(start+pe.off, i, pe.err, pe.msg, pe.hint)
			}
			r.MemoryBytes = b
			memAt = start
		case isLetter(c) && isMIGField(src[start:]):
			for i < len(src) && (isNameChar(src[i]) || src[i] == '|') {
				i++
			}
			field := src[start:i]
			if k := strings.IndexByte(field, '|'); k >= 0 {
				return p.fail(start, i, ErrConflict, fmt.Sprintf("%q: a MIG profile cannot have alternatives", p.part(start, i)),
					"name one profile, e.g. 1(A100,mig-3g.40gb), or write a share such as 0.5(A100) and let the profile be chosen")
			}
			if migAt.i >= 0 {
				return p.fail(start, i, ErrConflict, fmt.Sprintf("a second MIG profile %q", p.part(start, i)), "name one profile, e.g. 1(A100,mig-3g.40gb)")
			}
			if msg := migProblem(field[len(MIGPrefix):]); msg != "" {
				return p.fail(start, i, ErrSyntax, msg, "a profile is <compute slices>g.<memory>gb as NVIDIA names it, with .me for +me, e.g. 1(A100,mig-1g.10gb)")
			}
			r.MIG = field[len(MIGPrefix):]
			migAt = span{start, i}
		case isLetter(c):
			for i < len(src) && (isNameChar(src[i]) || src[i] == '|') {
				i++
			}
			isVGPU, err := p.checkNames(start, i)
			if err != nil {
				return err
			}
			switch {
			case isVGPU && vgpuAt >= 0:
				return p.fail(start, i, ErrConflict, "VGPU is written twice", "write it once, e.g. 2(VGPU)")
			case isVGPU:
				r.VGPU = true
				vgpuAt = start
			case nNames == 2:
				return p.fail(start, i, ErrConflict, fmt.Sprintf("a third name field %q", p.part(start, i)),
					"write at most a vendor and its types, e.g. 2(amd,MI250|MI300X); alternatives are joined by |, as in 2(V100|A100)")
			default:
				names[nNames] = span{start, i}
				nNames++
			}
		case c == '(':
			return p.unexpected(i, "", "parentheses do not nest: write e.g. 2(V100|A100)")
		default:
			return p.unexpected(i, "", "types, VGPU and memory are separated by commas, e.g. 0.5(T4,8Gi)")
		}
		if i == len(src) {
			return p.missingClose(i, open)
		}
		switch src[i] {
		case ',':
			i++
			continue
		case ')':
			i++
		default:
			return p.unexpected(i, "", "a type name holds letters, digits, '-', '_' and '.'; fields are separated by commas")
		}
		break
	}
	if i < len(src) {
		return p.unexpected(i, " after \")\"", "nothing may follow the closing parenthesis")
	}

	last := names[0]
	if nNames == 2 {
		scope := names[0]
		if strings.IndexByte(src[scope.i:scope.j], '|') >= 0 {
			return p.fail(scope.i, scope.j, ErrConflict,
				fmt.Sprintf("%q: the vendor before the comma is a single name", p.part(scope.i, scope.j)),
				"write 2(amd,MI250|MI300X) for types of one vendor, or 2(V100|A100) for alternatives")
		}
		r.Scope = src[scope.i:scope.j]
		last = names[1]
	}
	if nNames > 0 {
		r.Names = p.splitNames(last)
	}
	if migAt.i >= 0 {
		return p.checkMIG(r, migAt, memAt, vgpuAt)
	}
	if memAt >= 0 && !r.VGPU && r.Hundredths == 0 {
		// The same cards whole, or as vGPU cards with that memory.
		whole, cards := *r, *r
		whole.MemoryBytes = 0
		cards.VGPU = true
		var hint []string
		if ok := p.parses(whole.String()); len(ok) > 0 {
			hint = append(hint, "write "+ok[0]+" for whole cards")
		}
		if ok := p.parses(cards.String()); len(ok) > 0 {
			hint = append(hint, ok[0]+" for vGPU cards with that memory each")
		}
		return p.fail(memAt, len(src)-1, ErrConflict,
			fmt.Sprintf("memory %q applies only to vGPU: a share or VGPU cards", p.part(memAt, nextField(src, memAt))),
			cmp.Or(strings.Join(hint, ", or "), "leave the memory out for whole cards"))
	}
	return nil
}

// checkMIG refuses what does not go with a MIG profile at src[at.i:at.j]:
// a share, a count above 1, VGPU and memory.
func (p *parser) checkMIG(r *Request, at span, memAt, vgpuAt int) error {
	src := p.src
	one := *r
	one.Count, one.Hundredths, one.VGPU, one.MemoryBytes = 1, 0, false, 0
	written := p.part(at.i, at.j)
	switch {
	case r.Hundredths > 0:
		share := *r
		share.MIG = ""
		hint := p.rewrite("ask for one instance, as in 1(mig-1g.10gb)", one.String())
		if sh := p.first(share.String()); sh != "" {
			hint += ", or " + sh + " for a share that is given the smallest instance holding it"
		}
		return p.fail(0, len(src), ErrConflict, fmt.Sprintf("%s is a whole MIG instance, not a share of one", written), hint)
	case r.Count > 1:
		return p.fail(0, len(src), ErrConflict,
			fmt.Sprintf("%d instances of %s: a CUDA process uses one MIG instance, so a container gets one", r.Count, written),
			"ask for one instance of a profile large enough"+p.orRewrite(", as in ", one.String())+", or run one pod per instance")
	case vgpuAt >= 0:
		return p.fail(vgpuAt, vgpuAt+len(KeywordVGPU), ErrConflict,
			fmt.Sprintf("VGPU and %s do not go together: a MIG instance is partitioned in hardware", written),
			p.rewrite("leave VGPU out", one.String()))
	case memAt >= 0:
		return p.fail(memAt, nextField(src, memAt), ErrConflict,
			fmt.Sprintf("memory %q with %s: the profile fixes the memory", p.part(memAt, nextField(src, memAt)), written),
			p.rewrite("leave the memory out", one.String()))
	}
	return nil
}

// orRewrite is prefix and the first rewrite that parses, or "".
func (p *parser) orRewrite(prefix string, rewrites ...string) string {
	if r := p.first(rewrites...); r != "" {
		return prefix + r
	}
	return ""
}

// nextField returns the end of the field starting at src[i].
func nextField(src string, i int) int {
	for i < len(src) && src[i] != ',' && src[i] != ')' {
		i++
	}
	return i
}

// missingClose reports input that ends inside parentheses.
func (p *parser) missingClose(i, open int) error {
	// Closed as written, without a dangling separator, or without the
	// parentheses if nothing is in them.
	written := p.src[:i]
	trimmed := strings.TrimRight(written, ",|")
	hint := "close the parenthesis, as in 2(V100)"
	if r := p.first(written+")", trimmed+")", strings.TrimSuffix(trimmed, "(")); r != "" {
		hint = "write " + r
	}
	return &Error{Input: p.in, Offset: len(p.in), Msg: fmt.Sprintf("missing \")\" for the \"(\" at offset %d", p.off(open)),
		Hint: hint, Err: ErrSyntax}
}

// checkNames checks a name field src[i:j] (names joined by '|') and reports
// whether it is the keyword VGPU.
func (p *parser) checkNames(i, j int) (bool, error) {
	src := p.src
	field := src[i:j]
	if strings.EqualFold(field, KeywordVGPU) {
		return true, nil
	}
	start := i
	for k := i; k <= j; k++ {
		if k < j && src[k] != '|' {
			continue
		}
		name := src[start:k]
		if name == "" {
			return false, p.fail(k, k+1, ErrSyntax, fmt.Sprintf("empty alternative in %q", p.part(i, j)),
				"alternatives are written T1|T2, e.g. 2(V100|A100)")
		}
		if strings.EqualFold(name, KeywordVGPU) {
			return false, p.fail(start, k, ErrConflict, "VGPU is not a type and cannot be an alternative",
				"write N(VGPU) for vGPU cards, or N(VGPU,T4|A10) for vGPU cards of some types")
		}
		if msg := nameProblem(name); msg != "" {
			return false, p.fail(start, k, ErrSyntax, fmt.Sprintf("%q is not a name: %s", p.part(start, k), msg),
				"a type name is like V100, A100-40GB or V100M16")
		}
		for s := i; s < start; {
			e := s
			for e < start && src[e] != '|' {
				e++
			}
			if strings.EqualFold(src[s:e], name) {
				return false, p.fail(start, k, ErrConflict, fmt.Sprintf("%q is named twice", p.part(start, k)),
					"name each type once")
			}
			s = e + 1
		}
		start = k + 1
	}
	return false, nil
}

// splitNames returns the names of a checked field without a temporary
// slice beyond the result.
func (p *parser) splitNames(s span) []string {
	field := p.src[s.i:s.j]
	names := make([]string, 0, strings.Count(field, "|")+1)
	for {
		k := strings.IndexByte(field, '|')
		if k < 0 {
			return append(names, field)
		}
		names = append(names, field[:k])
		field = field[k+1:]
	}
}
