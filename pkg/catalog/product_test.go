package catalog

import "testing"

func TestMatchProduct(t *testing.T) {
	c := Default()
	// Product names as NVML (and the other vendors' tools) report them.
	cases := []struct {
		product string
		want    string // "" for no match
	}{
		{"Tesla T4", "T4"},
		{"Tesla P100-PCIE-16GB", "P100"},
		{"Tesla P100-SXM2-16GB", "P100"},
		{"Tesla V100-SXM2-32GB", "V100"},
		{"Tesla V100-PCIE-32GB", "V100"},
		{"Tesla V100S-PCIE-32GB", "V100"},
		{"Tesla V100-SXM2-16GB", "V100-16GB"},
		{"Tesla V100-PCIE-16GB", "V100-16GB"},
		{"Tesla V100-SXM3-32GB-H", "V100"},
		{"NVIDIA A10", "A10"},
		{"NVIDIA A10G", "A10"},
		{"NVIDIA A100-SXM4-80GB", "A100"},
		{"NVIDIA A100 80GB PCIe", "A100"},
		{"NVIDIA A100-SXM4-40GB", "A100-40GB"},
		{"NVIDIA A100-PCIE-40GB", "A100-40GB"},
		{"NVIDIA H100 80GB HBM3", "H100"},
		{"NVIDIA H100 PCIe", "H100"},
		{"NVIDIA H100 NVL", "H100"},
		{"NVIDIA H200", "H200"},
		{"NVIDIA H200 NVL", "H200"},
		{"NVIDIA L40S", "L40S"},
		{"AMD Instinct MI250X", "MI250"},
		{"AMD Instinct MI300X", "MI300X"},
		{"Ascend910", "Ascend910"},
		{"  tesla t4  ", "T4"},
		{"NVIDIA L40", ""},
		{"NVIDIA H20", ""},
		{"NVIDIA GeForce RTX 4090", ""},
		{"Tesla K80", ""},
		{"", ""},
	}
	for _, tc := range cases {
		t.Run(tc.product, func(t *testing.T) {
			got, ok := c.MatchProduct(tc.product)
			switch {
			case tc.want == "" && ok:
				t.Fatalf("MatchProduct(%q) = %s, want no match", tc.product, got.Name)
			case tc.want != "" && !ok:
				t.Fatalf("MatchProduct(%q): no match, want %s", tc.product, tc.want)
			case ok && got.Name != tc.want:
				t.Fatalf("MatchProduct(%q) = %s, want %s", tc.product, got.Name, tc.want)
			}
		})
	}
}

func TestGlobFold(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"TESLA T4", "Tesla T4", true},
		{"TESLA T4", "Tesla T40", false},
		{"TESLA V100*", "Tesla V100", true},
		{"TESLA V100*16GB*", "Tesla V100-SXM2-16GB", true},
		{"TESLA V100*16GB*", "Tesla V100-SXM2-32GB", false},
		{"*16GB", "a16GB16GB", true},
		{"A?C", "abc", true},
		{"A?C", "ac", false},
		{"*", "", true},
		{"", "", true},
		{"", "x", false},
		{"**A**", "xxAxx", true},
		{"*A*B*C*", "xAyByCz", true},
		{"*A*B*C*", "xAyCyBz", false},
	}
	for _, tc := range cases {
		if got := globFold(tc.pattern, tc.name); got != tc.want {
			t.Errorf("globFold(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestMostSpecificPatternWins(t *testing.T) {
	c, err := New(Catalog{Types: []Type{
		{Name: "Broad", MemoryMiB: 1024, Products: []string{"Card*"}},
		{Name: "Narrow", MemoryMiB: 1024, Products: []string{"Card X*"}},
		{Name: "Exact", MemoryMiB: 1024, Products: []string{"Card X1"}},
		{Name: "Tie", MemoryMiB: 1024, Products: []string{"Card Y?"}},
		{Name: "TieLater", MemoryMiB: 1024, Products: []string{"Card ?Z"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for product, want := range map[string]string{
		"Card X1": "Exact", "Card X2": "Narrow", "Card Q": "Broad", "Card YZ": "Tie", "Card AZ": "TieLater",
	} {
		got, ok := c.MatchProduct(product)
		if !ok || got.Name != want {
			t.Errorf("MatchProduct(%q) = %v, want %s", product, got, want)
		}
	}
}
