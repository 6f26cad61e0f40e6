package refusals

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

// BenchmarkPut is what filter adds to a call whose pod fits somewhere: one
// Put into a full record.
func BenchmarkPut(b *testing.B) {
	r := New(clocktesting.NewFakePassiveClock(epoch), DefaultMaxPods)
	uids := make([]types.UID, 2*DefaultMaxPods)
	for i := range uids {
		uids[i] = types.UID(fmt.Sprint("uid-", i))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Put(Refusal{UID: uids[i%len(uids)], Candidates: 500, Fitting: 3})
		i++
	}
}

// BenchmarkGroup500 is what filter adds to a call that no node fits, with
// the 500 candidates kube-scheduler sends at 5,000 nodes and three reasons.
func BenchmarkGroup500(b *testing.B) {
	names := make([]string, 500)
	reasons := []string{"4 free V100, pod needs 8", "has T4 cards, pod needs V100", "does not serve vGPU"}
	for i := range names {
		names[i] = fmt.Sprintf("node-%04d", i)
	}
	b.ReportAllocs()
	for b.Loop() {
		var g Grouper
		for i, n := range names {
			g.Add(n, reasons[i%len(reasons)])
		}
		_ = g.Groups()
	}
}
