package extender

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/refusals"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/extender/wire"
	"github.com/gpuplane/gpuplane/pkg/placement"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// Filter answers kube-scheduler's filter call: every candidate node the pod
// fits, and for the others a reason naming the node and the shortfall. With
// nodeCacheCapable the candidates come as names and go back as names;
// otherwise as Node objects, and the fitting ones go back as they came.
func (e *Extender) Filter(ctx context.Context, args *extenderv1.ExtenderArgs) *extenderv1.ExtenderFilterResult {
	o := e.filter(ctx, args)
	defer o.release()
	return o.Result()
}

// filterOutcome is filter's verdict on every candidate before it is put in
// the wire type: the HTTP handler writes it out as it stands, without the
// maps of reasons and without joining each node's name to its reason.
type filterOutcome struct {
	args *extenderv1.ExtenderArgs
	// err is the whole answer when the call itself is unusable.
	err   string
	names []string
	fit   []bool
	// verdicts are the candidates' verdicts, index by index; nil when no
	// candidate was checked.
	verdicts []verdict
	// unusable, when set, refuses every candidate for good: the pod's GPU
	// request is unusable. Each reason is the node's name and unusable.
	unusable string
	// fitting, resolvable and unresolvable count the candidates each way.
	fitting, resolvable, unresolvable int
	// quiet leaves the refusals out of the answer: filter-best sets it when
	// it keeps a node, since kube-scheduler reads the reasons only for a
	// pod that fits nowhere.
	quiet bool
	// req and snaps are the GPU request and the snapshots it was checked
	// against (snaps nil when no candidate was checked), for filter-best to
	// score the same picture.
	req   request.Pod
	snaps []*cache.NodeSnapshot
	// free, when filter was asked to count it, is what the fitting
	// candidates have free per card type: what auto's type pressure reads
	// of them, counted while filter has each node at hand.
	free *placement.TypeFree
	// pool, when set, takes the outcome back (release); bufs are the
	// slices it lends to the call.
	pool *outcomePool
	bufs outcomeBuffers
	// answerBufs, when set, lends the buffers the answer is written in,
	// in parts.
	answerBufs *wire.BufferPool
	// warm is the sum warm returned: kept, so that the compiler keeps
	// the reads that make it.
	warm atomic.Int64
}

// freeCount says whether a filter pass also counts what the fitting
// candidates have free per card type.
type freeCount int

const (
	// skipFree counts nothing: Filter's answer needs only the verdicts.
	skipFree freeCount = iota
	// countFree counts, when the policy prepares from free cards
	// (placement.FreePreparer), what the fitting candidates have free, for
	// filter-best to prepare the policy without walking them again.
	countFree
)

// filter is Filter before the answer is shaped.
func (e *Extender) filter(ctx context.Context, args *extenderv1.ExtenderArgs) *filterOutcome {
	return e.filterCounting(ctx, args, nil, skipFree)
}

// filterCounting is filter that also counts free cards when count is
// countFree, with the node names the decoder left pending (nil: none) read
// as the nodes are looked up.
func (e *Extender) filterCounting(ctx context.Context, args *extenderv1.ExtenderArgs, pending *wire.Pending, count freeCount) *filterOutcome {
	if args.Pod == nil {
		return &filterOutcome{args: args, err: "filter: the arguments name no pod"}
	}
	// Read before any verdict: a change counted after it may have made
	// room the verdicts did not see (Requeuer).
	freed := e.state.Freed()
	names := candidateNames(args)
	raw := pendingNames(args, pending)
	o := e.outcomes.get(len(names))
	o.args, o.names = args, names
	req, draPod, err := e.requestOf(args.Pod)
	if err == nil {
		e.seen.ObserveRequests(args.Pod.UID, &req)
	}
	switch {
	case err != nil:
		e.state.Resolve(names, raw, nil)
		klog.FromContext(ctx).V(2).Info("Pod's GPU request is unusable", "pod", klog.KObj(args.Pod), "err", err)
		o.unusable = ": " + err.Error()
		o.unresolvable = len(names)
	default:
		snaps := grown(&o.bufs.snaps, len(names))
		o.req, o.snaps = req, snaps
		o.verdicts = grown(&o.bufs.verdicts, len(names))
		var frees []placement.TypeFree
		if _, ok := e.policy.(placement.FreePreparer); ok && count == countFree {
			frees = make([]placement.TypeFree, chunkCount(len(names)))
		}
		parallelize(len(names), func(w, lo, hi int) {
			// Each chunk reads its names and finds their snapshots: the
			// lookups by name are a fifth of the call at thousands of
			// nodes.
			e.snapshots(draPod, names[lo:hi], offset(raw, lo), snaps[lo:hi])
			var memo reasonMemo
			warmed := 0
			defer func() { o.warm.Add(int64(warmed)) }()
			for i := lo; i < hi; i++ {
				if (i-lo)%warmBlock == 0 {
					warmed += warm(snaps[i:min(i+warmBlock, hi)])
				}
				if snaps[i] == nil {
					o.verdicts[i] = verdict{node: names[i], reason: ": no such node known to the extender (yet)"}
					continue
				}
				o.verdicts[i] = checkWith(snaps[i], &req, e.policy, &memo)
				if o.verdicts[i].node != "" {
					// The same name as the snapshot's, read from the
					// few pages the call's names fill, not one string
					// per node across the heap, when the answer is
					// written.
					o.verdicts[i].node = names[i]
				}
				if frees != nil && o.verdicts[i].ok {
					addFree(&frees[w], snaps[i])
				}
			}
		})
		if frees != nil {
			o.free = &frees[0]
			for i := 1; i < len(frees); i++ {
				o.free.Merge(&frees[i])
			}
		}
		for i := range o.verdicts {
			v := &o.verdicts[i]
			switch {
			case v.ok:
				o.fit[i] = true
			case v.resolvable:
				o.resolvable++
			default:
				o.unresolvable++
			}
		}
	}
	for _, ok := range o.fit {
		if ok {
			o.fitting++
		}
	}
	e.metrics.nodes.WithLabelValues("fit").Add(float64(o.fitting))
	e.metrics.nodes.WithLabelValues("unfit").Add(float64(len(names) - o.fitting))
	if e.refused != nil && (o.unusable != "" || (o.verdicts != nil && o.req.GPU())) {
		e.refused.Put(o.refusal())
	}
	if o.fitting == 0 && o.unusable == "" && len(names) > 0 {
		e.requeue.Refused(args.Pod, freed)
	}
	return o
}

// refusal is the outcome of a GPU pod's filter call as the refusals record
// keeps it: the counts, and when no candidate fits the reasons grouped.
func (o *filterOutcome) refusal() refusals.Refusal {
	r := refusals.Refusal{Pod: o.args.Pod.Namespace + "/" + o.args.Pod.Name, UID: o.args.Pod.UID,
		Candidates: len(o.names), Fitting: o.fitting}
	if o.fitting > 0 {
		return r
	}
	var g refusals.Grouper
	for i, name := range o.names {
		node, rest, _, refused := o.Refusal(i)
		if !refused {
			continue
		}
		// A reason is "<node>: <what is short>", in one piece or two.
		reason := strings.TrimPrefix(node+rest, name+": ")
		g.Add(name, reason)
	}
	r.Groups = g.Groups()
	return r
}

// addFree adds what the node of s has free to f: from its shape when its
// cards are all of one type (one read of the snapshot filter has just
// checked), else card by card.
func addFree(f *placement.TypeFree, s *cache.NodeSnapshot) {
	if sh := s.Shape(); sh.Uniform && sh.Types != "" {
		f.AddType(sh.Types, sh.FreeMilli)
		return
	}
	f.Add(s.Node())
}

var _ wire.FilterOutcome = (*filterOutcome)(nil)

// Candidates implements wire.FilterOutcome: the names, unless the call
// failed or came with whole Node objects.
func (o *filterOutcome) Candidates() ([]string, bool) {
	return o.names, o.err == "" && o.args.NodeNames != nil
}

// Fits implements wire.FilterOutcome.
func (o *filterOutcome) Fits(i int) bool { return o.fit[i] }

// Refusal implements wire.FilterOutcome: why candidate i does not fit, as
// its node's name and the rest of the reason; refused is false when it
// fits, or when the answer leaves the refusals out (quiet).
func (o *filterOutcome) Refusal(i int) (node, rest string, resolvable, refused bool) {
	switch {
	case o.quiet:
		return "", "", false, false
	case o.unusable != "":
		return o.names[i], o.unusable, false, true
	case o.verdicts == nil || o.verdicts[i].ok:
		return "", "", false, false
	}
	v := &o.verdicts[i]
	return v.node, v.reason, v.resolvable, true
}

// Result implements wire.FilterOutcome: the outcome in the wire type.
func (o *filterOutcome) Result() *extenderv1.ExtenderFilterResult {
	if o.err != "" {
		return &extenderv1.ExtenderFilterResult{Error: o.err}
	}
	res := &extenderv1.ExtenderFilterResult{
		FailedNodes:                make(extenderv1.FailedNodesMap, o.resolvable),
		FailedAndUnresolvableNodes: make(extenderv1.FailedNodesMap, o.unresolvable),
	}
	for i, name := range o.names {
		node, rest, resolvable, refused := o.Refusal(i)
		switch {
		case !refused:
		case resolvable:
			res.FailedNodes[name] = node + rest
		default:
			res.FailedAndUnresolvableNodes[name] = node + rest
		}
	}
	if o.args.NodeNames != nil {
		out := make([]string, 0, o.fitting)
		for i, name := range o.names {
			if o.fit[i] {
				out = append(out, name)
			}
		}
		res.NodeNames = &out
		return res
	}
	out := &corev1.NodeList{Items: make([]corev1.Node, 0, o.fitting)}
	if o.args.Nodes != nil {
		for i := range o.args.Nodes.Items {
			if o.fit[i] {
				out.Items = append(out.Items, o.args.Nodes.Items[i])
			}
		}
	}
	res.Nodes = out
	return res
}

// candidateNames returns the names of the candidate nodes, in order.
func candidateNames(args *extenderv1.ExtenderArgs) []string {
	if args.NodeNames != nil {
		return *args.NodeNames
	}
	if args.Nodes == nil {
		return nil
	}
	names := make([]string, len(args.Nodes.Items))
	for i := range args.Nodes.Items {
		names[i] = args.Nodes.Items[i].Name
	}
	return names
}

// warmBlock is how many snapshots warm reads ahead of checking them: their
// first cache lines fit the processor's first-level cache many times over.
const warmBlock = 32

// warm reads the fields of each snapshot that a check reads first, one
// snapshot after the other without waiting on each: the processor fetches
// their cache lines together, where the checks, each a chain of dependent
// loads, would wait for each in turn. At thousands of snapshots per call,
// scattered over the heap as the informers built them, the first read of
// each was the largest single cost of filter (a quarter of the extender's
// CPU profile in the scale run, docs/performance.md); read ahead, it is
// under a tenth.
func warm(snaps []*cache.NodeSnapshot) int {
	n := 0
	for _, s := range snaps {
		if s != nil {
			n += s.Warm()
		}
	}
	return n
}

// pendingNames is how filter and prioritize read the names the decoder
// left pending: nil when none are (the arguments came decoded, or with
// whole Node objects).
func pendingNames(args *extenderv1.ExtenderArgs, pending *wire.Pending) func(int) []byte {
	if pending == nil || args.NodeNames == nil || len(pending.Spans) == 0 {
		return nil
	}
	return pending.Name
}

// offset is raw for the names from lo on.
func offset(raw func(int) []byte, lo int) func(int) []byte {
	if raw == nil {
		return nil
	}
	return func(i int) []byte { return raw(lo + i) }
}
