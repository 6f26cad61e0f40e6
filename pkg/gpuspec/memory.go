package gpuspec

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// Memory amounts.
const (
	MiB = 1 << 20
	GiB = 1 << 30
	TiB = 1 << 40
	// MaxMemoryBytes bounds a memory amount well above any card sold, so
	// that arithmetic on amounts can never overflow.
	MaxMemoryBytes = 64 * TiB
)

// maxMemoryFracDigits bounds the decimals of a memory amount; more cannot
// describe a whole number of MiB in any unit we accept anyway.
const maxMemoryFracDigits = 9

// memory units in KiB, so that the largest amount with 9 decimals still fits
// in a uint64 while it is being computed.
var memoryUnits = [...]struct {
	name string
	kib  uint64
}{
	{"Ki", 1},
	{"Mi", 1 << 10},
	{"Gi", 1 << 20},
	{"Ti", 1 << 30},
}

// partError is a problem inside a part of the input, at an offset relative
// to that part; the caller rebases it onto the whole input.
type partError struct {
	off       int
	part      string
	msg, hint string
	err       error
}

// ParseMemory parses a memory amount: digits, optionally with decimals, and
// a binary unit Ki, Mi, Gi or Ti (any case), e.g. "8Gi", "1536Mi", "1.5Gi".
// The amount must be above 0, at most 64Ti and a whole number of MiB. It
// returns bytes; errors are *Error. The catalog uses it for type memory.
func ParseMemory(s string) (int64, error) {
	b, pe := parseMemory(s)
	if pe != nil {
		return 0, &Error{Input: s, Offset: pe.off, Part: pe.part, Msg: pe.msg, Hint: pe.hint, Err: pe.err}
	}
	return b, nil
}

// memoryHint proposes a rewrite of a memory amount, "write R", if R is
// written right (it may still be out of range), or else fallback.
func memoryHint(rewrite, fallback string) string {
	if _, pe := parseMemory(rewrite); pe != nil && pe.err != ErrRange {
		return fallback
	}
	return "write " + rewrite
}

// FormatMemory writes bytes in the largest binary unit that holds it
// exactly: 8Gi, 1536Mi, 1Ti; amounts below a KiB are written as bytes.
func FormatMemory(bytes int64) string {
	return string(appendMemory(nil, bytes))
}

func appendMemory(b []byte, bytes int64) []byte {
	switch {
	case bytes != 0 && bytes%TiB == 0:
		return append(strconv.AppendInt(b, bytes/TiB, 10), "Ti"...)
	case bytes != 0 && bytes%GiB == 0:
		return append(strconv.AppendInt(b, bytes/GiB, 10), "Gi"...)
	case bytes != 0 && bytes%MiB == 0:
		return append(strconv.AppendInt(b, bytes/MiB, 10), "Mi"...)
	case bytes != 0 && bytes%1024 == 0:
		return append(strconv.AppendInt(b, bytes/1024, 10), "Ki"...)
	}
	return strconv.AppendInt(b, bytes, 10)
}

// parseMemory works on ASCII text without spaces (the request parser has
// normalised it already; catalog values are plain ASCII).
func parseMemory(s string) (int64, *partError) {
	const accepted = "memory is written with a binary unit: 512Mi, 8Gi, 1Ti"
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intEnd := i
	fracStart, fracEnd := i, i
	if i < len(s) && s[i] == '.' {
		i++
		fracStart = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracEnd = i
	}
	numEnd := i
	unit := s[i:]
	switch {
	case s == "":
		return 0, &partError{msg: "a memory amount is empty", hint: accepted, err: ErrSyntax}
	case intEnd == 0 && fracStart < len(s) && s[0] == '.':
		return 0, &partError{part: s, msg: fmt.Sprintf("memory %q has no digit before the point", s),
			hint: memoryHint("0"+s[:numEnd]+cmp.Or(unit, "Gi"), "write a digit before the point, e.g. 0.5Gi"), err: ErrSyntax}
	case intEnd == 0:
		return 0, &partError{part: s, msg: fmt.Sprintf("memory %q does not start with a number", s), hint: accepted, err: ErrSyntax}
	case fracStart != intEnd && fracStart == fracEnd:
		return 0, &partError{off: intEnd, part: s, msg: fmt.Sprintf("memory %q has no digit after the point", s),
			hint: memoryHint(s[:intEnd]+cmp.Or(unit, "Gi"), "write a digit after the point, e.g. 1.5Gi"), err: ErrSyntax}
	}
	var unitKiB uint64
	for _, u := range memoryUnits {
		if strings.EqualFold(unit, u.name) {
			unitKiB = u.kib
			break
		}
	}
	if unitKiB == 0 {
		return 0, unitProblem(s, numEnd)
	}

	capKiB := uint64(MaxMemoryBytes / 1024)
	// The integer part, stopping as soon as it is certainly too big.
	var ip uint64
	for _, c := range s[:intEnd] {
		ip = ip*10 + uint64(c-'0')
		if ip > capKiB {
			break
		}
	}
	if ip > capKiB/unitKiB {
		return 0, &partError{part: s, msg: fmt.Sprintf("memory %q is more than 64Ti", s),
			hint: "no card has that much; ask for at most the card's memory", err: ErrRange}
	}
	kib := ip * unitKiB

	frac := strings.TrimRight(s[fracStart:fracEnd], "0")
	if len(frac) > maxMemoryFracDigits {
		return 0, &partError{off: fracStart, part: s, msg: fmt.Sprintf("memory %q has too many decimals", s),
			hint: "write it in a smaller unit, as whole Mi", err: ErrPrecision}
	}
	var fv, pow uint64 = 0, 1
	for _, c := range frac {
		fv = fv*10 + uint64(c-'0')
		pow *= 10
	}
	// fv < 10^9 and unitKiB <= 2^30, so the product fits in 63 bits.
	fracKiB := fv * unitKiB
	exact := fracKiB%pow == 0
	kib += fracKiB / pow
	if kib > capKiB {
		return 0, &partError{part: s, msg: fmt.Sprintf("memory %q is more than 64Ti", s),
			hint: "no card has that much; ask for at most the card's memory", err: ErrRange}
	}
	if kib == 0 && exact {
		return 0, &partError{part: s, msg: fmt.Sprintf("memory %q is zero", s),
			hint: "ask for more than 0, e.g. 512Mi, or leave the memory out for the proportional amount", err: ErrRange}
	}
	if !exact || kib%1024 != 0 {
		lo := kib / 1024
		hint := fmt.Sprintf("memory is counted in whole Mi: write %dMi or %dMi", lo, lo+1)
		if lo == 0 {
			hint = "memory is counted in whole Mi: write 1Mi"
		}
		return 0, &partError{part: s, msg: fmt.Sprintf("memory %q is not a whole number of Mi", s), hint: hint, err: ErrPrecision}
	}
	return int64(kib) * 1024, nil
}

// unitProblem explains a unit that is not Ki, Mi, Gi or Ti.
func unitProblem(s string, numEnd int) *partError {
	num, unit := s[:numEnd], s[numEnd:]
	if unit == "" {
		return &partError{off: numEnd, part: s, msg: fmt.Sprintf("memory %q has no unit", s),
			hint: "write " + num + "Gi or " + num + "Mi: units are Ki, Mi, Gi and Ti", err: ErrSyntax}
	}
	// Decimal units (G, GB) are a real trap: 8G is 8*10^9 bytes, not a whole
	// number of MiB. Suggest the binary unit they almost certainly meant.
	switch strings.ToUpper(unit) {
	case "K", "KB", "M", "MB", "G", "GB", "T", "TB", "KIB", "MIB", "GIB", "TIB":
		bin := string(unit[0]&^0x20) + "i"
		return &partError{off: numEnd, part: s, msg: fmt.Sprintf("memory %q uses unit %q", s, unit),
			hint: "write " + num + bin + ": units are Ki, Mi, Gi and Ti (powers of 1024)", err: ErrSyntax}
	}
	return &partError{off: numEnd, part: s, msg: fmt.Sprintf("memory %q has unknown unit %q", s, unit),
		hint: "units are Ki, Mi, Gi and Ti, e.g. 8Gi", err: ErrSyntax}
}
