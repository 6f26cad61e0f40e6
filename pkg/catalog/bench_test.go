package catalog

import (
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/gpuspec"
)

// typical are the requests people write most, per SPEC §1.
var typical = []string{"1", "2(V100)", "1(t4)", "2(V100|A100)", "1(VGPU)", "0.5(T4)", "0.5(T4,8Gi)", "2(amd,MI250)", "0"}

// BenchmarkParseResolve is the webhook's work per pod (goal: 500 ns/op).
func BenchmarkParseResolve(b *testing.B) {
	c := Default()
	for _, in := range typical {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.ParseResolve(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseResolveRefused(b *testing.B) {
	c := Default()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ParseResolve("2(X999)"); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkResolvedString(b *testing.B) {
	c := Default()
	r, err := c.ParseResolve("0.5(T4,8Gi)")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = r.String()
	}
}

func BenchmarkMatchProduct(b *testing.B) {
	c := Default()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.MatchProduct("NVIDIA A100-SXM4-40GB"); !ok {
			b.Fatal("no match")
		}
	}
}

func BenchmarkLoadDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Default()
	}
}

// BenchmarkResolve is Resolve alone, on a parsed request.
func BenchmarkResolve(b *testing.B) {
	c := Default()
	req, err := gpuspec.Parse("2(V100)")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Resolve(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseResolvePools resolves shares through a catalog of a pool
// of each backend (serve_test.go's sharingYAML): HAMi, MIG (mixed and
// single), time-slicing, and the default pool after a refusal.
func BenchmarkParseResolvePools(b *testing.B) {
	c, err := Load(strings.NewReader(sharingYAML))
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range []string{"0.5(A100)", "1(VGPU)", "0.5(A30)", "1(A100,mig-3g.40gb)", "0.5(H200)", "0.25(L4)", "0.25(L4,4Gi)"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.ParseResolve(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
