package sim

import (
	"errors"
	"testing"
)

// TestEnumNames: every value of CPUPods and Ties parses back from its name,
// other names are usage errors, and a value without a name is named as the
// zero value.
func TestEnumNames(t *testing.T) {
	tests := []struct {
		name  string
		parse func(string) (uint8, error)
		str   func(uint8) string
		names []string
	}{
		{
			name:  "CPUPods",
			parse: func(s string) (uint8, error) { c, err := ParseCPUPods(s); return uint8(c), err },
			str:   func(v uint8) string { return CPUPods(v).String() },
			names: []string{"policy", "kube-scheduler", "default-scheduler"},
		},
		{
			name:  "Ties",
			parse: func(s string) (uint8, error) { v, err := ParseTies(s); return uint8(v), err },
			str:   func(v uint8) string { return Ties(v).String() },
			names: []string{"name", "random", "shuffled"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, n := range tt.names {
				v, err := tt.parse(n)
				if err != nil || int(v) != i {
					t.Errorf("parse(%q) = %d, %v; want %d", n, v, err, i)
				}
				if got := tt.str(uint8(i)); got != n {
					t.Errorf("String(%d) = %q, want %q", i, got, n)
				}
			}
			for _, bad := range []string{"", "Policy", "names", tt.names[0] + " "} {
				if _, err := tt.parse(bad); !errors.Is(err, ErrUsage) {
					t.Errorf("parse(%q) = %v, want a usage error", bad, err)
				}
			}
			if got := tt.str(uint8(len(tt.names))); got != tt.names[0] {
				t.Errorf("String(%d) = %q, want the zero value's %q", len(tt.names), got, tt.names[0])
			}
		})
	}
}
