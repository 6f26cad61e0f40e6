package gpuspec

import (
	"errors"
	"strings"
	"testing"
)

func TestFormatHundredths(t *testing.T) {
	cases := map[int]string{1: "0.01", 5: "0.05", 10: "0.1", 12: "0.12", 50: "0.5", 99: "0.99", 100: "1", 150: "1.5"}
	for h, want := range cases {
		if got := FormatHundredths(h); got != want {
			t.Errorf("FormatHundredths(%d) = %q, want %q", h, got, want)
		}
	}
}

func TestValidateRefusesWhatParseNeverReturns(t *testing.T) {
	cases := []struct {
		name  string
		req   Request
		class error
	}{
		{"negative count", Request{Count: -1}, ErrRange},
		{"count and share", Request{Count: 1, Hundredths: 50}, ErrConflict},
		{"names without amount", Request{Names: []string{"T4"}}, ErrConflict},
		{"count above limit", Request{Count: 65}, ErrRange},
		{"share of a whole card", Request{Hundredths: 100}, ErrRange},
		{"memory not whole MiB", Request{Hundredths: 50, MemoryBytes: 1000}, ErrPrecision},
		{"memory too big", Request{Hundredths: 50, MemoryBytes: MaxMemoryBytes + MiB}, ErrRange},
		{"memory for whole cards", Request{Count: 1, MemoryBytes: GiB}, ErrConflict},
		{"scope without names", Request{Count: 1, Scope: "amd"}, ErrConflict},
		{"bad scope", Request{Count: 1, Scope: "a|b", Names: []string{"T4"}}, ErrSyntax},
		{"bad name", Request{Count: 1, Names: []string{"T 4"}}, ErrSyntax},
		{"keyword as name", Request{Count: 1, Names: []string{"vgpu"}}, ErrSyntax},
		{"duplicate names", Request{Count: 1, Names: []string{"T4", "t4"}}, ErrConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Validate()
			if !errors.Is(err, tc.class) {
				t.Fatalf("Validate(%#v) = %v, want class %v", tc.req, err, tc.class)
			}
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), `"`) {
				t.Fatalf("error %q is not an *Error quoting the request", err)
			}
		})
	}
	if err := (Request{}).Validate(); err != nil {
		t.Errorf("the zero Request (0) is valid: %v", err)
	}
}

func TestValidName(t *testing.T) {
	cases := map[string]bool{
		"V100": true, "A100-40GB": true, "V100M16": true, "mi300x": true, "Ascend910": true, "a": true,
		"a_b.c-d": true, strings.Repeat("x", 63): true,
		"": false, "4090": false, "-V100": false, "V100-": false, "V100.": false, "V 100": false,
		"VGPU": false, "vgpu": false, "T4|A10": false, strings.Repeat("x", 64): false, "Ｖ100": false,
	}
	for name, want := range cases {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}
