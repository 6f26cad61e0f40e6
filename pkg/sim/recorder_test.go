package sim

import (
	"reflect"
	"slices"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// A Recorder fed the handmade trace's outcomes gives the Result the replay
// gives, and records where each pod went: the account of a replay made
// elsewhere (through kube-scheduler) is read exactly as the simulator's.
func TestRecorderMatchesReplay(t *testing.T) {
	tr := handmadeTrace(t)
	order := []int{0, 1, 2, 3, 4, 5, 6, 7, 8}
	want, err := ReplayWith(tr.Nodes, tr.Pods, order, placement.Binpack(), 1, ReplayOptions{Ties: TiesRandom, Record: true})
	if err != nil {
		t.Fatal(err)
	}
	// The handmade placements: a is node 0, b node 1; p8 fits nowhere.
	if where := []int{1, 1, 1, 0, 0, 1, 0, -1, 0}; !slices.Equal(want.Nodes, where) {
		t.Fatalf("replay recorded %v, want %v", want.Nodes, where)
	}
	rec := NewRecorder(placement.PolicyBinpack, 1, tr.Nodes, true)
	for i, k := range order {
		rec.Add(&tr.Pods[k].Request, want.Nodes[i])
	}
	got := rec.Result()
	// NaN != NaN: compare the curves apart.
	gotCurve, wantCurve := got.Curve, want.Curve
	got.Curve, want.Curve = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("recorder %+v\n   replay %+v", got, want)
	}
	if len(gotCurve) != len(wantCurve) {
		t.Fatalf("curve of %d points, want %d", len(gotCurve), len(wantCurve))
	}
	for a := range gotCurve {
		if gotCurve[a] != wantCurve[a] && !(gotCurve[a] != gotCurve[a] && wantCurve[a] != wantCurve[a]) {
			t.Errorf("curve at %d%%: %v, want %v", a, gotCurve[a], wantCurve[a])
		}
	}
	// Without recording, no nodes are kept; a Result read midway is a copy.
	plain := NewRecorder(placement.PolicyBinpack, 1, tr.Nodes, false)
	plain.Add(&tr.Pods[0].Request, 1)
	mid := plain.Result()
	plain.Add(&tr.Pods[1].Request, 1)
	if mid.Nodes != nil || mid.Placed != 1 || plain.Result().Placed != 2 {
		t.Errorf("midway %+v, then %+v", mid, plain.Result())
	}
}

// PrefixUntil keeps the pods up to the first whose arrival rounds above the
// threshold, so that the bucket of the threshold is whole.
func TestPrefixUntil(t *testing.T) {
	tr := handmadeTrace(t)
	order := []int{0, 1, 2, 3, 4, 5, 6, 7, 8}
	capacity := tr.Capacity() // 6000
	tests := []struct {
		until float64
		want  int // pods kept
	}{
		// arrived after each pod: 33.3, 41.7, 50, 66.7, 66.7, 83.3, 90, 123.3, 133.3
		{30, 1}, {50, 4}, {66, 4}, {67, 6}, {90, 8}, {100, 8}, {130, 9}, {140, 9},
	}
	for _, tt := range tests {
		if got := PrefixUntil(tr.Pods, order, capacity, tt.until); len(got) != tt.want {
			t.Errorf("until %v%%: %d pods, want %d", tt.until, len(got), tt.want)
		}
	}
	if got := PrefixUntil(tr.Pods, order, 0, 90); len(got) != len(order) {
		t.Errorf("no capacity: %d pods, want all %d", len(got), len(order))
	}
}
