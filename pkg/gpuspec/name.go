package gpuspec

import "strings"

// MaxNameLen is the longest type or vendor name: type names become the
// value of the gpu-type node label, and label values stop at 63 bytes.
const MaxNameLen = 63

// KeywordVGPU is the reserved word for the vGPU pool; no type or vendor may
// be called that.
const KeywordVGPU = "VGPU"

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
