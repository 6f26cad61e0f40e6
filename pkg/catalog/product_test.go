package catalog

import (
	"strings"
	"testing"
)

// productNames are product names as the drivers report them (nvidia-smi's
// Name, NVML's product name, and the other vendors' tools), with the type
// of the built-in catalog each must get; "" for none.
var productNames = []struct {
	product string
	want    string
}{
	// Pascal
	{"Tesla P4", "P4"},
	{"Tesla P40", "P40"},
	{"Tesla P100-PCIE-16GB", "P100"},
	{"Tesla P100-SXM2-16GB", "P100"},
	{"Tesla P100-PCIE-12GB", "P100-12GB"},
	// Volta
	{"Tesla V100-SXM2-32GB", "V100"},
	{"Tesla V100-PCIE-32GB", "V100"},
	{"Tesla V100S-PCIE-32GB", "V100"},
	{"Tesla V100-SXM3-32GB-H", "V100"},
	{"Tesla V100-SXM2-16GB", "V100-16GB"},
	{"Tesla V100-PCIE-16GB", "V100-16GB"},
	{"Tesla V100-FHHL-16GB", "V100-16GB"},
	// Turing
	{"Tesla T4", "T4"},
	// Ampere
	{"NVIDIA A2", "A2"},
	{"NVIDIA A10", "A10"},
	{"NVIDIA A10G", "A10"},
	{"NVIDIA A16", "A16"},
	{"NVIDIA A30", "A30"},
	{"NVIDIA A40", "A40"},
	{"NVIDIA A100-SXM4-80GB", "A100"},
	{"NVIDIA A100 80GB PCIe", "A100"},
	{"NVIDIA A100-SXM4-40GB", "A100-40GB"},
	{"NVIDIA A100-PCIE-40GB", "A100-40GB"},
	{"NVIDIA A800-SXM4-80GB", "A800"},
	{"NVIDIA A800 80GB PCIe", "A800"},
	{"NVIDIA A800-SXM4-40GB", "A800-40GB"},
	{"NVIDIA A800 40GB Active", "A800-40GB"},
	{"NVIDIA RTX A4000", "RTX-A4000"},
	{"NVIDIA RTX A5000", "RTX-A5000"},
	{"NVIDIA RTX A6000", "RTX-A6000"},
	{"NVIDIA GeForce RTX 3090", "RTX-3090"},
	// Ada Lovelace
	{"NVIDIA L2", "L2"},
	{"NVIDIA L4", "L4"},
	{"NVIDIA L20", "L20"},
	{"NVIDIA L40", "L40"},
	{"NVIDIA L40S", "L40S"},
	{"NVIDIA GeForce RTX 4090", "RTX-4090"},
	{"NVIDIA GeForce RTX 4090 D", "RTX-4090D"},
	{"NVIDIA RTX 5000 Ada Generation", "RTX-5000-Ada"},
	{"NVIDIA RTX 6000 Ada Generation", "RTX-6000-Ada"},
	// Hopper
	{"NVIDIA H100 80GB HBM3", "H100"},
	{"NVIDIA H100 PCIe", "H100"},
	{"NVIDIA H100 NVL", "H100"},
	{"NVIDIA H800", "H800"},
	{"NVIDIA H800 PCIe", "H800"},
	{"NVIDIA H20", "H20"},
	{"NVIDIA H200", "H200"},
	{"NVIDIA H200 NVL", "H200"},
	{"NVIDIA GH200 144G HBM3e", "GH200"},
	{"NVIDIA GH200 480GB", "GH200-96GB"},
	// Blackwell
	{"NVIDIA B100", "B100"},
	{"NVIDIA B200", "B200"},
	{"NVIDIA GB200", "GB200"},
	{"NVIDIA RTX PRO 6000 Blackwell Server Edition", "RTX-PRO-6000"},
	{"NVIDIA RTX PRO 6000 Blackwell Workstation Edition", "RTX-PRO-6000"},
	{"NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition", "RTX-PRO-6000"},
	// Other vendors
	{"AMD Instinct MI250X", "MI250"},
	{"AMD Instinct MI300X", "MI300X"},
	{"Ascend910", "Ascend910"},
	// Case and surrounding spaces are ignored.
	{"  tesla t4  ", "T4"},
	// Not in the catalog: the node agent names these itself.
	{"NVIDIA GeForce RTX 3090 Ti", ""},
	{"Tesla K80", ""},
	{"", ""},
}

func TestMatchProduct(t *testing.T) {
	c := Default()
	for _, tc := range productNames {
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

// TestNoTwoTypesClaimAProduct checks that every product name above, and
// every pattern of the built-in catalog read as a product name (its
// wildcards taken as nothing), is matched by the patterns of one type
// only: which type a card gets must never hang on how specific two
// patterns are.
func TestNoTwoTypesClaimAProduct(t *testing.T) {
	c := Default()
	var names []string
	for _, tc := range productNames {
		names = append(names, tc.product)
	}
	for _, ty := range c.Types {
		for _, p := range ty.Products {
			names = append(names, strings.NewReplacer("*", "", "?", "x").Replace(p))
		}
	}
	for _, name := range names {
		var claim []string
		for _, ty := range c.Types {
			for _, p := range ty.Products {
				if globFold(strings.ToUpper(p), strings.TrimSpace(name)) {
					claim = append(claim, ty.Name+" ("+p+")")
					break
				}
			}
		}
		if len(claim) > 1 {
			t.Errorf("product %q is claimed by several types: %s", name, strings.Join(claim, ", "))
		}
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
