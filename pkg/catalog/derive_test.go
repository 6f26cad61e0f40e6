package catalog

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

func TestDeriveTypeName(t *testing.T) {
	tests := []struct {
		name, product, want string
	}{
		{name: "maker and memory", product: "NVIDIA Foo X200 48GB", want: "FOO-X200-48GB"},
		{name: "old product line", product: "Tesla V100-SXM2-16GB", want: "V100-SXM2-16GB"},
		{name: "china-market card", product: "NVIDIA H20", want: "H20"},
		{name: "workstation card", product: "NVIDIA RTX 6000 Ada Generation", want: "RTX-6000-ADA-GENERATION"},
		{name: "consumer card", product: "NVIDIA GeForce RTX 4090", want: "GEFORCE-RTX-4090"},
		{name: "case and spaces", product: "  nvidia  l20 ", want: "L20"},
		{name: "punctuation runs", product: "NVIDIA A800-SXM4-80GB (rev. 2)", want: "A800-SXM4-80GB-REV-2"},
		{name: "maker only", product: "NVIDIA", want: "NVIDIA"},
		{name: "both brand words", product: "NVIDIA Tesla K80", want: "K80"},
		{name: "starts with a digit", product: "NVIDIA 4090 D", want: "GPU-4090-D"},
		{name: "keyword", product: "NVIDIA vGPU", want: "GPU-VGPU"},
		{name: "nothing usable", product: " (!) ", want: DerivedTypeFallback},
		{name: "empty", product: "", want: DerivedTypeFallback},
		{name: "non-ASCII dropped", product: "NVIDIA Ärger 9000", want: "RGER-9000"},
		{name: "too long", product: "NVIDIA " + strings.Repeat("ABCDEFG ", 10), want: strings.TrimRight(strings.Repeat("ABCDEFG-", 8)[:63], "-")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DeriveTypeName(tt.product)
			if got != tt.want {
				t.Fatalf("DeriveTypeName(%q) = %q, want %q", tt.product, got, tt.want)
			}
			checkDerived(t, tt.product, got)
		})
	}
}

// checkDerived checks what every derived name must be: a label value, a
// type name of the grammar, and its own derivation.
func checkDerived(t *testing.T, product, got string) {
	t.Helper()
	if errs := validation.IsValidLabelValue(got); len(errs) > 0 || got == "" {
		t.Fatalf("DeriveTypeName(%q) = %q, not a label value: %v", product, got, errs)
	}
	if msg := gpuspec.NameProblem(got); msg != "" {
		t.Fatalf("DeriveTypeName(%q) = %q, not a type name: %s", product, got, msg)
	}
	if again := DeriveTypeName(got); again != got {
		t.Fatalf("DeriveTypeName(%q) = %q, but DeriveTypeName(%q) = %q", product, got, got, again)
	}
}

// FuzzDeriveTypeName checks the promises of DeriveTypeName on any input.
func FuzzDeriveTypeName(f *testing.F) {
	for _, s := range []string{"NVIDIA Foo X200 48GB", "Tesla T4", "", "vgpu", "9", "NVIDIA", strings.Repeat("x-", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, product string) {
		got := DeriveTypeName(product)
		checkDerived(t, product, got)
		if DeriveTypeName(product) != got {
			t.Fatal("not stable")
		}
	})
}
