package gpuspec

import (
	"fmt"
	"strings"
)

// MaxNameLen is the longest type or vendor name: type names become the
// value of the gpu-type node label, and label values stop at 63 bytes.
const MaxNameLen = 63

// KeywordVGPU is the reserved word for the vGPU pool; no type or vendor may
// be called that.
const KeywordVGPU = "VGPU"

// MIGPrefix starts a field naming a MIG profile ("mig-3g.40gb"); no type or
// vendor name may start with it, in any case.
const MIGPrefix = "mig-"

// isMIGField reports whether a field names a MIG profile.
func isMIGField(s string) bool {
	return len(s) >= len(MIGPrefix) && strings.EqualFold(s[:len(MIGPrefix)], MIGPrefix)
}

// migProblem says why p (what follows "mig-") is not written like a MIG
// profile, "<slices>g.<memory>gb" with an optional ".me", or "" when it is.
// Whether a card offers the profile is the catalog's to say.
func migProblem(p string) string {
	const want = "a MIG profile is written like mig-1g.10gb, mig-3g.40gb or mig-1g.10gb.me"
	s := strings.ToLower(p)
	s = strings.TrimSuffix(s, ".me")
	g, mem, ok := strings.Cut(s, "g.")
	if !ok || !strings.HasSuffix(mem, "gb") || !digitsOnly(g) || !digitsOnly(strings.TrimSuffix(mem, "gb")) {
		return fmt.Sprintf("%q is not a MIG profile: %s", MIGPrefix+p, want)
	}
	return ""
}

// digitsOnly reports whether s is 1 to 4 decimal digits without a leading
// zero.
func digitsOnly(s string) bool {
	if s == "" || len(s) > 4 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// ValidName reports whether s can name a type, an alias or a vendor: 1 to 63
// ASCII letters, digits, '-', '_' and '.', starting with a letter, ending with
// a letter or digit, and not the keyword VGPU. Starting with a letter keeps
// names apart from counts and memory amounts inside parentheses; the rest
// makes every name a valid Kubernetes label value.
func ValidName(s string) bool {
	return nameProblem(s) == ""
}

// NameProblem says why s is not a valid name, or returns "" when it is.
func NameProblem(s string) string { return nameProblem(s) }

// nameProblem says what is wrong with a name, or "" when nothing is.
func nameProblem(s string) string {
	switch {
	case s == "":
		return "a name is empty"
	case len(s) > MaxNameLen:
		return "names are at most 63 characters"
	case !isLetter(s[0]):
		return "names start with a letter"
	case !isLetter(s[len(s)-1]) && !isDigit(s[len(s)-1]):
		return "names end with a letter or digit"
	case strings.EqualFold(s, KeywordVGPU):
		return "VGPU is a keyword, not a name"
	case isMIGField(s):
		return "names do not start with mig-, which starts a MIG profile (mig-1g.10gb)"
	}
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return "names hold only letters, digits, '-', '_' and '.'"
		}
	}
	return ""
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isNameChar(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '-' || c == '_' || c == '.'
}
