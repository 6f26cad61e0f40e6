package refusals

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestRecord(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxPods int
		// ops: "put UID", "forget UID", "tick"
		ops  []string
		want map[types.UID]time.Time
	}{
		{name: "one pod", maxPods: 3, ops: []string{"put a"}, want: map[types.UID]time.Time{"a": epoch}},
		{name: "a second put replaces the first", maxPods: 3, ops: []string{"put a", "tick", "put a"},
			want: map[types.UID]time.Time{"a": epoch.Add(time.Second)}},
		{name: "the pod filtered longest ago goes first", maxPods: 2, ops: []string{"put a", "tick", "put b", "tick", "put c"},
			want: map[types.UID]time.Time{"b": epoch.Add(time.Second), "c": epoch.Add(2 * time.Second)}},
		{name: "a put again makes a pod recent", maxPods: 2, ops: []string{"put a", "put b", "tick", "put a", "put c"},
			want: map[types.UID]time.Time{"a": epoch.Add(time.Second), "c": epoch.Add(time.Second)}},
		{name: "forget", maxPods: 2, ops: []string{"put a", "put b", "forget a", "forget z"},
			want: map[types.UID]time.Time{"b": epoch}},
		{name: "default size", maxPods: 0, ops: []string{"put a"}, want: map[types.UID]time.Time{"a": epoch}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(epoch)
			r := New(clk, tc.maxPods)
			for _, op := range tc.ops {
				var verb, uid string
				fmt.Sscan(op, &verb, &uid)
				switch verb {
				case "put":
					r.Put(Refusal{Pod: "ns/" + uid, UID: types.UID(uid), Candidates: 3})
				case "forget":
					r.Forget(types.UID(uid))
				case "tick":
					clk.SetTime(clk.Now().Add(time.Second))
				}
			}
			if r.Len() != len(tc.want) {
				t.Errorf("Len %d, want %d", r.Len(), len(tc.want))
			}
			for _, uid := range []types.UID{"a", "b", "c", "z"} {
				got, ok := r.Get(uid)
				at, want := tc.want[uid]
				if ok != want || (ok && (!got.At.Equal(at) || got.Pod != "ns/"+string(uid) || got.Candidates != 3)) {
					t.Errorf("Get(%s) = %+v, %v; want at %v: %v", uid, got, ok, at, want)
				}
			}
		})
	}
}

func TestNilRecord(t *testing.T) {
	var r *Record
	r.Put(Refusal{UID: "a"})
	r.Forget("a")
	if _, ok := r.Get("a"); ok || r.Len() != 0 {
		t.Error("a nil record holds something")
	}
}

func TestRecordConcurrent(t *testing.T) {
	r := New(clocktesting.NewFakePassiveClock(epoch), 8)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				uid := types.UID(fmt.Sprint(w, "-", i%20))
				r.Put(Refusal{UID: uid})
				r.Get(uid)
				if i%7 == 0 {
					r.Forget(uid)
				}
			}
		})
	}
	wg.Wait()
	if r.Len() > 8 {
		t.Errorf("Len %d above the bound 8", r.Len())
	}
}

func TestGrouper(t *testing.T) {
	many := make([]string, 0, 15)
	for i := 14; i >= 0; i-- {
		many = append(many, fmt.Sprintf("n%02d", i))
	}
	for _, tc := range []struct {
		name    string
		reasons [][2]string // node, reason
		want    []Group
	}{
		{name: "none", want: []Group{}},
		{name: "grouped, most nodes first, names sorted",
			reasons: [][2]string{{"b", "4 free V100, pod needs 8"}, {"c", "no V100"}, {"a", "4 free V100, pod needs 8"}},
			want: []Group{
				{Reason: "4 free V100, pod needs 8", Count: 2, Nodes: []string{"a", "b"}},
				{Reason: "no V100", Count: 1, Nodes: []string{"c"}},
			}},
		{name: "equal counts by reason", reasons: [][2]string{{"x", "z-reason"}, {"y", "a-reason"}},
			want: []Group{{Reason: "a-reason", Count: 1, Nodes: []string{"y"}}, {Reason: "z-reason", Count: 1, Nodes: []string{"x"}}}},
		{name: "a reason without a node", reasons: [][2]string{{"", "the pod asks for nothing known"}},
			want: []Group{{Reason: "the pod asks for nothing known", Count: 1, Nodes: []string{}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g Grouper
			for _, r := range tc.reasons {
				g.Add(r[0], r[1])
			}
			if got := g.Groups(); !reflect.DeepEqual(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("Groups() = %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("names bounded to the first by name", func(t *testing.T) {
		var g Grouper
		for _, n := range many {
			g.Add(n, "full")
		}
		got := g.Groups()
		want := []Group{{Reason: "full", Count: 15, Nodes: []string{"n00", "n01", "n02", "n03", "n04", "n05", "n06", "n07", "n08", "n09"}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Groups() = %+v, want %+v", got, want)
		}
	})
}
