package placement

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownPolicy marks a policy name no registry entry has.
var ErrUnknownPolicy = errors.New("unknown placement policy")

// ErrPolicyConfig marks a policy that cannot be built from the config given.
var ErrPolicyConfig = errors.New("bad placement policy config")

// Placement is how a policy would place a request on one node: the cards it
// takes and how good that is.
type Placement struct {
	// Score: higher is better. Scores of one policy for one request are
	// comparable across nodes; their scale differs between policies.
	Score float64
	// Cards are the positions (in Node.Cards) the request would take.
	Cards CardSet
}

// Policy rates nodes for a request and chooses the cards on a node.
// Implementations are safe for concurrent use.
type Policy interface {
	Name() string
	// Evaluate places r on n, which must fit r (Check): the best cards on n
	// under the policy and the score of that placement.
	Evaluate(n *Node, r *Request) Placement
}

// Preparer is a policy that looks at all the candidate nodes of a request
// before scoring them: Prepare returns the policy that scores r on those
// nodes (the extender's prioritize list; the nodes that fit, in the
// simulator). Use it for r on these nodes only.
type Preparer interface {
	Policy
	Prepare(nodes []*Node, r *Request) Policy
}

// FreePreparer is a Preparer that needs of the candidate nodes only what
// they have free of each card type: PrepareFree(free, r) is Prepare(nodes,
// r) for the nodes free counted (TypeFree.Add), in any order.
type FreePreparer interface {
	Preparer
	PrepareFree(free *TypeFree, r *Request) Policy
}

// StateKeyed is a policy that takes a node's StateKey from its caller:
// EvaluateKeyed(n, StateKey(n), r) is Evaluate(n, r). A caller that scores
// an unchanging node for many requests (the extender's snapshots) hashes
// it once instead of once per request; a key that is not StateKey(n) gets
// another node's result.
type StateKeyed interface {
	Policy
	EvaluateKeyed(n *Node, key uint64, r *Request) Placement
}

// Warmer is a StateKeyed policy that can read ahead what EvaluateKeyed
// will read for the request it was prepared for, on nodes of the given
// state keys: a caller about to score many nodes warms a block of them,
// and the processor fetches what each needs together instead of one
// after the other. It returns a sum of what it read, for the caller to
// keep so that the reads are kept.
type Warmer interface {
	StateKeyed
	Warm(keys []uint64) int
}

// Learner is a policy that learns the workload mix from the requests it is
// shown. Show it each request once, when it arrives, never one still to come.
type Learner interface {
	Observe(r *Request)
}

// Config is what the registry's factories build policies from.
type Config struct {
	// Workload is the mix fgd measures fragmentation against (the paper
	// takes it from the whole trace). Required by fgd.
	Workload *Workload
	// Auto tunes the auto policy; the zero value means the defaults.
	Auto AutoOptions
}

// Factory builds a policy.
type Factory func(Config) (Policy, error)

// Registry maps policy names to factories. Build it in main and pass it down.
type Registry struct {
	names     []string
	factories map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[string]Factory{}} }

// Builtin returns a new registry holding binpack, spread, bestfit, fgd and
// auto, then HAMi's four policies (hami.go), in that order.
func Builtin() *Registry {
	r := NewRegistry()
	for _, e := range []struct {
		name string
		f    Factory
	}{
		{PolicyBinpack, func(Config) (Policy, error) { return Binpack(), nil }},
		{PolicySpread, func(Config) (Policy, error) { return Spread(), nil }},
		{PolicyBestFit, func(Config) (Policy, error) { return BestFit(), nil }},
		{PolicyFGD, func(c Config) (Policy, error) {
			if c.Workload == nil || c.Workload.Len() == 0 {
				return nil, fmt.Errorf("%w: fgd needs the workload mix to measure fragmentation against", ErrPolicyConfig)
			}
			return FGD(c.Workload), nil
		}},
		{PolicyAuto, func(c Config) (Policy, error) { return NewAuto(c.Auto), nil }},
		{PolicyHAMiBinpackBinpack, func(Config) (Policy, error) { return HAMi(false, false), nil }},
		{PolicyHAMiBinpackSpread, func(Config) (Policy, error) { return HAMi(false, true), nil }},
		{PolicyHAMiSpreadBinpack, func(Config) (Policy, error) { return HAMi(true, false), nil }},
		{PolicyHAMiSpreadSpread, func(Config) (Policy, error) { return HAMi(true, true), nil }},
	} {
		if err := r.Register(e.name, e.f); err != nil {
			panic(err) // the names above are distinct
		}
	}
	return r
}

// The built-in policy names.
const (
	PolicyBinpack = "binpack"
	PolicySpread  = "spread"
	PolicyBestFit = "bestfit"
	PolicyFGD     = "fgd"
	PolicyAuto    = "auto"
)

// Register adds a policy; a name may be registered once.
func (r *Registry) Register(name string, f Factory) error {
	if name == "" || f == nil {
		return fmt.Errorf("%w: a policy needs a name and a factory", ErrPolicyConfig)
	}
	if _, ok := r.factories[name]; ok {
		return fmt.Errorf("%w: policy %q is registered twice", ErrPolicyConfig, name)
	}
	r.factories[name] = f
	r.names = append(r.names, name)
	return nil
}

// Names lists the registered policies in registration order.
func (r *Registry) Names() []string { return append([]string(nil), r.names...) }

// New builds the named policy.
func (r *Registry) New(name string, c Config) (Policy, error) {
	f, ok := r.factories[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q, want one of %s", ErrUnknownPolicy, name, strings.Join(r.names, ", "))
	}
	return f(c)
}

// Choose returns the cards policy p takes for r on n, or why r does not fit.
func Choose(p Policy, n *Node, r *Request) (CardSet, error) {
	if v := Check(n, r); !v.OK() {
		return 0, fmt.Errorf("%w: %s", ErrNoFit, v.Reason())
	}
	return p.Evaluate(n, r).Cards, nil
}
