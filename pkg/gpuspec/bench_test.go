package gpuspec

import "testing"

// typicalRequests are what people write most, per SPEC §1.
var typicalRequests = []string{"1", "2(V100)", "1(t4)", "2(V100|A100)", "1(VGPU)", "0.5(T4)", "0.5(T4,8Gi)", "2(amd,MI250)", "0"}

func BenchmarkParse(b *testing.B) {
	for _, in := range typicalRequests {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseFullWidth(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(" 2 （ V100 ｜ A100 ） "); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRefused(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("2(V100"); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkString(b *testing.B) {
	r, err := Parse("0.25(VGPU,T4|A10,4Gi)")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = r.String()
	}
}
