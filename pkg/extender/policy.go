package extender

import (
	"fmt"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// NewPolicy builds the named placement policy for serving, and the learner
// to show each arriving request (nil for policies that learn nothing).
//
// fgd measures fragmentation against a workload mix; the simulator takes it
// from the trace, a live cluster has no trace, so here the mix is learned
// online from the pods seen so far (the way auto learns it) and fgd is
// evaluated against the latest learned mix, without auto's load and
// host-memory terms.
func NewPolicy(name string) (placement.Policy, placement.Learner, error) {
	if name == placement.PolicyFGD {
		f := &onlineFGD{mix: placement.NewAuto(placement.AutoOptions{LoadWeight: -1, IgnoreHostMemory: true})}
		return f, f.mix, nil
	}
	p, err := placement.Builtin().New(name, placement.Config{})
	if err != nil {
		return nil, nil, fmt.Errorf("policy %q: %w", name, err)
	}
	l, _ := p.(placement.Learner)
	return p, l, nil
}

// onlineFGD is placement's fgd against a workload mix learned online.
type onlineFGD struct {
	mix *placement.Auto // only its learner is used
}

var _ placement.Policy = (*onlineFGD)(nil)

func (*onlineFGD) Name() string { return placement.PolicyFGD }

func (f *onlineFGD) Evaluate(n *placement.Node, r *placement.Request) placement.Placement {
	return placement.FGD(f.mix.Workload()).Evaluate(n, r)
}
