package gpuspec

import (
	"errors"
	"testing"
)

func TestParseMemory(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		bytes int64
		class error
	}{
		{"gibibytes", "16Gi", 16 * GiB, nil},
		{"mebibytes", "256Mi", 256 * MiB, nil},
		{"tebibytes", "1Ti", TiB, nil},
		{"kibibytes making whole MiB", "3072Ki", 3 * MiB, nil},
		{"decimals", "0.25Gi", 256 * MiB, nil},
		{"decimals with trailing zeros", "1.500000000000Gi", 1536 * MiB, nil},
		{"odd size as sold", "141Gi", 141 * GiB, nil},
		{"lower case unit", "80gi", 80 * GiB, nil},
		{"leading zeros are harmless", "016Gi", 16 * GiB, nil},
		{"limit", "64Ti", MaxMemoryBytes, nil},
		{"limit in Mi", "67108864Mi", MaxMemoryBytes, nil},
		{"empty", "", 0, ErrSyntax},
		{"no number", "Gi", 0, ErrSyntax},
		{"no unit", "16", 0, ErrSyntax},
		{"decimal unit", "16GB", 0, ErrSyntax},
		{"unknown unit", "16Qi", 0, ErrSyntax},
		{"point without digits", "16.Gi", 0, ErrSyntax},
		{"zero", "0Mi", 0, ErrRange},
		{"zero with decimals", "0.0Gi", 0, ErrRange},
		{"above limit", "64.001Ti", 0, ErrRange},
		{"far above limit", "99999999999999999999999999Ki", 0, ErrRange},
		{"half a MiB", "0.5Mi", 0, ErrPrecision},
		{"too many decimals", "1.0000000001Ti", 0, ErrPrecision},
		{"not whole KiB", "0.3Ki", 0, ErrPrecision},
		{"space is not dropped here", "16 Gi", 0, ErrSyntax},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMemory(tc.in)
			if tc.class != nil {
				if !errors.Is(err, tc.class) {
					t.Fatalf("ParseMemory(%q) = %d, %v; want class %v", tc.in, got, err, tc.class)
				}
				var e *Error
				if !errors.As(err, &e) || e.Input != tc.in {
					t.Fatalf("error %#v does not quote the input", err)
				}
				return
			}
			if err != nil || got != tc.bytes {
				t.Fatalf("ParseMemory(%q) = %d, %v; want %d", tc.in, got, err, tc.bytes)
			}
			back, err := ParseMemory(FormatMemory(got))
			if err != nil || back != got {
				t.Fatalf("FormatMemory(%d) = %q does not parse back: %d, %v", got, FormatMemory(got), back, err)
			}
		})
	}
}

func TestFormatMemory(t *testing.T) {
	cases := []struct {
		bytes int64
		want  string
	}{
		{TiB, "1Ti"},
		{8 * GiB, "8Gi"},
		{1536 * MiB, "1536Mi"},
		{141 * GiB, "141Gi"},
		{1024 * GiB, "1Ti"},
		{2048, "2Ki"},
		{1000, "1000"},
		{0, "0"},
	}
	for _, tc := range cases {
		if got := FormatMemory(tc.bytes); got != tc.want {
			t.Errorf("FormatMemory(%d) = %q, want %q", tc.bytes, got, tc.want)
		}
	}
}
