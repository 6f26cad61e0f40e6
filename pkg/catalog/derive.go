package catalog

import (
	"strings"

	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

// DerivedTypeFallback is DeriveTypeName's answer for a product name without
// a letter or digit.
const DerivedTypeFallback = "UNKNOWN-GPU"

// brandWords are leading words of NVML product names that name the maker
// or an old product line rather than the card ("NVIDIA H20", "Tesla T4").
var brandWords = []string{"NVIDIA", "TESLA"}

// DeriveTypeName is the type of a card whose product name matches no
// pattern of the catalog: the product name's words in upper case, joined by
// '-', without a leading "NVIDIA" or "Tesla" ("NVIDIA Foo X200 48GB" gives
// "FOO-X200-48GB", "Tesla V100-SXM2-16GB" gives "V100-SXM2-16GB"). A name
// that would start with a digit gets "GPU-" in front, "VGPU" (a keyword of
// requests) becomes "GPU-VGPU", and a name longer than 63 characters is cut.
//
// The result is stable (the same product always gives the same name), a
// valid label value and a valid type name of the request grammar, and
// DeriveTypeName of a derived name is that name. It does not look at the
// catalog: a derived name that is also a catalog type or alias is the
// caller's to handle.
func DeriveTypeName(product string) string {
	words := strings.FieldsFunc(strings.ToUpper(product), func(r rune) bool { return !isASCIIAlnum(r) })
	for len(words) > 1 && isBrandWord(words[0]) {
		words = words[1:]
	}
	name := strings.Join(words, "-")
	switch {
	case name == "":
		return DerivedTypeFallback
	case name[0] >= '0' && name[0] <= '9':
		name = "GPU-" + name
	case strings.EqualFold(name, gpuspec.KeywordVGPU):
		name = "GPU-" + name
	}
	if len(name) > gpuspec.MaxNameLen {
		name = strings.TrimRight(name[:gpuspec.MaxNameLen], "-")
	}
	return name
}

func isBrandWord(w string) bool {
	for _, b := range brandWords {
		if w == b {
			return true
		}
	}
	return false
}

func isASCIIAlnum(r rune) bool {
	return 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9'
}
