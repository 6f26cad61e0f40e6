package sim

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// With HAMi's split count a card holds at most that many tasks, whatever
// cores are left on it.
func TestServeWithHAMi(t *testing.T) {
	const nodes = `sn,cpu_milli,memory_mib,gpu,model
a,64000,262144,1,T4
`
	const pods = `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec
s1,1000,1024,1,100,
s2,1000,1024,1,100,
s3,1000,1024,1,100,
`
	ns, err := ReadNodes(strings.NewReader(nodes))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := ReadPods(strings.NewReader(pods))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sharing placement.Sharing
		policy  placement.Policy
		placed  int
	}{
		{placement.SharingGPUManager, placement.Binpack(), 3},
		{placement.SharingHAMi, placement.Binpack(), 2},
		{placement.SharingHAMi, placement.HAMi(false, false), 2},
		{placement.SharingHAMi, placement.NewAuto(placement.AutoOptions{}), 2},
	} {
		tr := &Trace{Nodes: cloneNodes(ns), Pods: append([]Pod(nil), ps...)}
		if err := tr.ServeWith(tc.sharing, 2); err != nil {
			t.Fatal(err)
		}
		res, err := Replay(tr.Nodes, tr.Pods, []int{0, 1, 2}, tc.policy, 1, TiesFirstName)
		if err != nil {
			t.Fatal(err)
		}
		if res.Placed != tc.placed {
			t.Errorf("%s under %s: %d placed, want %d", tc.policy.Name(), tc.sharing, res.Placed, tc.placed)
		}
	}
	tr := &Trace{Nodes: cloneNodes(ns), Pods: ps}
	if err := tr.ServeWith(placement.SharingMIG, 2); !errors.Is(err, ErrUsage) {
		t.Errorf("MIG: %v, want a usage error", err)
	}
	if err := tr.ServeWith(placement.SharingHAMi, 0); !errors.Is(err, ErrUsage) {
		t.Errorf("split 0: %v, want a usage error", err)
	}
}

func TestParseSharingFlags(t *testing.T) {
	o, err := ParseFlags([]string{"--nodes", "n.csv", "--pods", "p.csv", "--sharing", "hami", "--hami-split", "4"}, placement.Builtin().Names(), nil)
	if err != nil || o.Sharing != placement.SharingHAMi || o.HAMiSplit != 4 {
		t.Fatalf("ParseFlags = %+v, %v", o, err)
	}
	if _, err := ParseFlags([]string{"--nodes", "n.csv", "--pods", "p.csv", "--sharing", "vcuda"}, placement.Builtin().Names(), nil); !errors.Is(err, ErrUsage) {
		t.Fatalf("--sharing vcuda: %v", err)
	}
}
