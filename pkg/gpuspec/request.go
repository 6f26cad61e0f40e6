package gpuspec

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxCount is the most whole cards one request may ask for. The grammar
// stops here; a count above what any node has is refused later, by the
// scheduler extender, which knows the nodes.
const MaxCount = 64

// Request is a parsed request, syntax only: names are not yet known to be
// types or vendors (pkg/catalog decides that).
//
// Exactly one of Count and Hundredths is set, except for "0" (no GPU),
// where every field is zero.
type Request struct {
	// Count is the number of whole cards, 1..64; 0 for a share or for "0".
	Count int
	// Hundredths is a share of one card in hundredths, 1..99 for 0.01..0.99;
	// 0 otherwise. vGPU cores are hundredths of a card, hence the unit.
	Hundredths int
	// VGPU is set when the keyword VGPU was written.
	VGPU bool
	// Names are the names of the last name field, in written order: type
	// names or aliases preferred in that order ("2(V100|A100)"), or a single
	// vendor ("1(ascend)"). They are kept as written (letter case included,
	// spaces dropped, full-width letters folded to ASCII); the catalog
	// compares them without regard to case. Nil when none was written.
	Names []string
	// Scope is the vendor written before the type names, as in
	// "2(amd,MI250)"; empty when only one name field was written.
	Scope string
	// MemoryBytes is an explicit memory amount for a vGPU share or vGPU
	// card ("8Gi"), a whole number of MiB; 0 when absent.
	MemoryBytes int64
	// MIG is an explicit MIG profile, as written after "mig-" ("3g.40gb",
	// "1g.10gb.me"); empty when none was written. It goes with a count of
	// 1 only, and neither a share, VGPU nor memory.
	MIG string
}

// IsNone reports whether r is "0": no GPU.
func (r Request) IsNone() bool {
	return r.Count == 0 && r.Hundredths == 0 && !r.VGPU && r.Scope == "" && len(r.Names) == 0 && r.MemoryBytes == 0 && r.MIG == ""
}

// IsShare reports whether r asks for a fraction of one card.
func (r Request) IsShare() bool { return r.Hundredths > 0 }

// String is the canonical form: the amount, then in parentheses the
// vendor, VGPU, the names joined by '|', the MIG profile and the memory,
// each only when present, e.g. "2", "0.5(T4)", "1(VGPU)", "2(amd,MI250)",
// "0.25(VGPU,T4|A10,4Gi)", "1(A100,mig-3g.40gb)". Names keep the spelling they were parsed with.
// Parse(r.String()) returns r for every r that Parse returned.
func (r Request) String() string {
	var buf [64]byte
	return string(r.appendTo(buf[:0]))
}

func (r Request) appendTo(b []byte) []byte {
	switch {
	case r.Count > 0:
		b = strconv.AppendInt(b, int64(r.Count), 10)
	case r.Hundredths > 0:
		b = appendHundredths(b, r.Hundredths)
	default:
		b = append(b, '0')
	}
	open := false
	sep := func() {
		if open {
			b = append(b, ',')
		} else {
			b = append(b, '(')
			open = true
		}
	}
	if r.Scope != "" {
		sep()
		b = append(b, r.Scope...)
	}
	if r.VGPU {
		sep()
		b = append(b, KeywordVGPU...)
	}
	if len(r.Names) > 0 {
		sep()
		for i, n := range r.Names {
			if i > 0 {
				b = append(b, '|')
			}
			b = append(b, n...)
		}
	}
	if r.MIG != "" {
		sep()
		b = append(b, MIGPrefix...)
		b = append(b, r.MIG...)
	}
	if r.MemoryBytes != 0 {
		sep()
		b = appendMemory(b, r.MemoryBytes)
	}
	if open {
		b = append(b, ')')
	}
	return b
}

// appendHundredths writes h/100 as "0.5", "0.05", "0.12"; 100 or more is
// written as a whole number, so that even an invalid value prints sanely.
func appendHundredths(b []byte, h int) []byte {
	if h <= 0 || h >= 100 {
		return strconv.AppendFloat(b, float64(h)/100, 'f', -1, 64)
	}
	b = append(b, '0', '.', byte('0'+h/10))
	if h%10 != 0 {
		b = append(b, byte('0'+h%10))
	}
	return b
}

// FormatHundredths writes a share: 50 -> "0.5", 5 -> "0.05".
func FormatHundredths(h int) string { return string(appendHundredths(nil, h)) }

// Validate checks the invariants Parse guarantees, for a Request built by
// hand (e.g. by a program rather than from text). Errors are *Error quoting
// r.String().
func (r Request) Validate() error {
	bad := func(part, msg string, class error) error {
		in := r.String()
		off := strings.Index(in, part)
		if off < 0 || part == "" {
			off = 0
		}
		return &Error{Input: in, Offset: off, Part: part, Msg: msg, Err: class}
	}
	if r.IsNone() {
		return nil
	}
	switch {
	case r.Count < 0 || r.Hundredths < 0:
		return bad("", "negative amount", ErrRange)
	case r.Count > 0 && r.Hundredths > 0:
		return bad("", "both a count and a share", ErrConflict)
	case r.Count == 0 && r.Hundredths == 0:
		return bad("", "no count or share, but other parts are set", ErrConflict)
	case r.Count > MaxCount:
		return bad("", fmt.Sprintf("count %d is more than %d", r.Count, MaxCount), ErrRange)
	case r.Hundredths >= 100:
		return bad("", fmt.Sprintf("share of %d hundredths is not below 1", r.Hundredths), ErrRange)
	case r.MemoryBytes < 0 || r.MemoryBytes > MaxMemoryBytes:
		return bad("", "memory out of range", ErrRange)
	case r.MemoryBytes%MiB != 0:
		return bad("", "memory is not a whole number of MiB", ErrPrecision)
	case r.MemoryBytes > 0 && !r.VGPU && r.Hundredths == 0:
		return bad("", "a memory amount applies only to a share or VGPU cards", ErrConflict)
	case r.Scope != "" && len(r.Names) == 0:
		return bad(r.Scope, "a vendor scope without names", ErrConflict)
	case r.MIG != "" && (r.Count != 1 || r.VGPU || r.MemoryBytes != 0):
		return bad(MIGPrefix+r.MIG, "a MIG profile goes with a count of 1 and neither VGPU nor memory", ErrConflict)
	}
	if r.MIG != "" {
		if p := migProblem(r.MIG); p != "" {
			return bad(MIGPrefix+r.MIG, p, ErrSyntax)
		}
	}
	if r.Scope != "" {
		if p := nameProblem(r.Scope); p != "" {
			return bad(r.Scope, fmt.Sprintf("vendor %q: %s", r.Scope, p), ErrSyntax)
		}
	}
	for i, n := range r.Names {
		if p := nameProblem(n); p != "" {
			return bad(n, fmt.Sprintf("name %q: %s", n, p), ErrSyntax)
		}
		for _, m := range r.Names[:i] {
			if strings.EqualFold(m, n) {
				return bad(n, fmt.Sprintf("%q is named twice", n), ErrConflict)
			}
		}
	}
	return nil
}
