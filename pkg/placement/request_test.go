package placement

import (
	"errors"
	"testing"
)

func TestRequestValidate(t *testing.T) {
	tests := []struct {
		name string
		r    Request
		ok   bool
	}{
		{"CPU only", Request{CPUMilli: 100}, true},
		{"whole cards", Whole(8, "V100"), true},
		{"vGPU cards", Request{Cards: 2, Milli: 1000, VGPU: true}, true},
		{"share", Share(1, 0), true},
		{"share with memory", Share(999, 4096), true},
		{"negative cards", Request{Cards: -1, Milli: 1000}, false},
		{"too many cards", Whole(MaxRequestCards + 1), false},
		{"no milli", Request{Cards: 1}, false},
		{"more than a card", Request{Cards: 1, Milli: 1001}, false},
		{"share of two cards", Request{Cards: 2, Milli: 500}, false},
		{"milli without cards", Request{Milli: 500}, false},
		{"negative CPU", Request{CPUMilli: -1}, false},
		{"negative card memory", Share(100, -1), false},
		{"whole card with card memory", Request{Cards: 1, Milli: 1000, CardMemoryMiB: 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate(%+v) = %v, want ok=%v", tc.r, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("error %v is not ErrInvalidRequest", err)
			}
		})
	}
}

func TestRequestString(t *testing.T) {
	tests := []struct {
		r    Request
		want string
	}{
		{Request{}, "0"},
		{Whole(2, "V100"), "2(V100)"},
		{Whole(1, "T4", "A10"), "1(T4|A10)"},
		{Request{Cards: 1, Milli: 1000, VGPU: true}, "1(VGPU)"},
		{Share(500, 0), "0.5"},
		{Share(250, 4096, "T4"), "0.25(T4,4096Mi)"},
		{Share(5, 0), "0.005"},
	}
	for _, tc := range tests {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.r, got, tc.want)
		}
	}
}
