package extender

import (
	"reflect"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// recordingPreparer is binpack that remembers what Prepare was shown.
type recordingPreparer struct {
	placement.Policy
	nodes []*placement.Node
	req   *placement.Request
}

func (p *recordingPreparer) Prepare(nodes []*placement.Node, r *placement.Request) placement.Policy {
	p.nodes, p.req = nodes, r
	return p.Policy
}

var _ placement.Preparer = (*recordingPreparer)(nil)

func TestPrepareShowsThePolicyTheCandidates(t *testing.T) {
	base, err := placement.Builtin().New(placement.PolicyBinpack, placement.Config{})
	if err != nil {
		t.Fatal(err)
	}
	a := new(cache.NodeSnapshot).WithNode(placement.Node{Name: "a"})
	b := new(cache.NodeSnapshot).WithNode(placement.Node{Name: "b"})
	whole := placement.Request{Cards: 2, Milli: 1000, Types: []string{"V100"}}
	host := placement.Request{CPUMilli: 4000, MemoryMiB: 1024}

	cases := map[string]struct {
		req       request.Pod
		wantNodes []string
		wantReq   *placement.Request
	}{
		"gpu pod": {
			req:       request.Pod{Parts: []request.Part{{}, {Req: whole}}},
			wantNodes: []string{"a", "b"},
			wantReq:   &whole,
		},
		// The simulator prepares the policy for every pod it places, so
		// the extender does for a pod without cards too.
		"no card asked": {
			req:       request.Pod{Parts: []request.Part{{Req: host}}},
			wantNodes: []string{"a", "b"},
			wantReq:   &host,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rec := &recordingPreparer{Policy: base}
			got := prepare(rec, []*cache.NodeSnapshot{a, nil, b}, &tc.req)
			want := placement.Policy(rec) // unprepared: nothing to prepare for
			if tc.wantReq != nil {
				want = base // what Prepare returned
			}
			if got != want {
				t.Fatalf("prepare returned %v, want %v", got, want)
			}
			var names []string
			for _, n := range rec.nodes {
				names = append(names, n.Name)
			}
			if len(names) != len(tc.wantNodes) || (len(names) > 0 && (names[0] != tc.wantNodes[0] || names[1] != tc.wantNodes[1])) {
				t.Fatalf("Prepare saw nodes %v, want %v (unknown nodes left out)", names, tc.wantNodes)
			}
			if tc.wantReq == nil && rec.req != nil || tc.wantReq != nil && (rec.req == nil || !reflect.DeepEqual(*rec.req, *tc.wantReq)) {
				t.Fatalf("Prepare saw request %+v, want %+v", rec.req, tc.wantReq)
			}
		})
	}
}

func TestPrepareLeavesOtherPoliciesAlone(t *testing.T) {
	base, err := placement.Builtin().New(placement.PolicyBinpack, placement.Config{})
	if err != nil {
		t.Fatal(err)
	}
	req := request.Pod{Parts: []request.Part{{Req: placement.Request{Cards: 1, Milli: 1000}}}}
	if got := prepare(base, nil, &req); got != base {
		t.Fatalf("a policy without Prepare came back as %v", got)
	}
}
