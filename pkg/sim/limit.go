package sim

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

// Limit bounds what any placement could have allocated of the pods arrived
// by some arrived %.
type Limit struct {
	// ArrivedPods and ArrivedMilli are the pods counted: those of the
	// arrival order up to and including the first that brings the arrived %
	// to the threshold.
	ArrivedPods  int
	ArrivedMilli int64
	// Offline is the allocation % of the best of the offline packings
	// tried, which know every arrived pod and place them largest GPU request
	// first (typed before untyped among equals): each pod to the node it
	// leaves the least GPU (then CPU) free on and a share to the tightest
	// card, and the same order placed by each policy given. CPU-only pods
	// are left out: they allocate no GPU.
	Offline float64
	// OfflineBy names the packing that gave Offline.
	OfflineBy string
	// Tried is every offline packing's allocation %, in the order tried.
	Tried []Packing
	// UpperBound is the allocation % of a relaxation no placement can beat:
	// each GPU pod's request may be split over the cards of every node class
	// (card type, cards per node, CPU, memory) one such pod fits on when
	// empty, each class holding its cards' GPU, ignoring how cards fragment
	// and what pods share of CPU and memory; a maximum flow.
	UpperBound float64
}

// Packing is one offline packing's outcome.
type Packing struct {
	By         string
	Allocation float64
}

// ComputeLimit returns the limit at arrived % threshold for the pods of
// order (Arrivals), placed on nodes (not changed). The offline packings are
// first-fit decreasing with the tightest node and with each of policies
// (fresh ones: a learner sees the pods in the packing's order).
func ComputeLimit(nodes []placement.Node, pods []Pod, order []int, threshold int, policies ...placement.Policy) (Limit, error) {
	var capacity int64
	for i := range nodes {
		capacity += nodes[i].GPUMilli()
	}
	var l Limit
	if capacity == 0 {
		return l, nil
	}
	var arrived []int
	for _, k := range order {
		if l.ArrivedMilli*100 >= int64(threshold)*capacity {
			break
		}
		arrived = append(arrived, k)
		l.ArrivedMilli += pods[k].Request.GPUMilli()
	}
	l.ArrivedPods = len(arrived)
	var gpuPods []int
	for _, k := range arrived {
		if pods[k].Request.Cards > 0 {
			gpuPods = append(gpuPods, k)
		}
	}
	slices.SortStableFunc(gpuPods, func(a, b int) int {
		ra, rb := &pods[a].Request, &pods[b].Request
		return cmp.Or(cmp.Compare(rb.GPUMilli(), ra.GPUMilli()), cmp.Compare(typeFreedom(ra), typeFreedom(rb)),
			cmp.Compare(rb.CPUMilli, ra.CPUMilli), cmp.Compare(rb.MemoryMiB, ra.MemoryMiB))
	})
	for _, p := range append([]placement.Policy{tightestFit{}}, policies...) {
		res, err := Replay(nodes, pods, gpuPods, p, 0, TiesFirstName)
		if err != nil {
			return l, fmt.Errorf("offline packing with %s: %w", p.Name(), err)
		}
		a := float64(res.PlacedMilli) * 100 / float64(capacity)
		l.Tried = append(l.Tried, Packing{By: p.Name(), Allocation: a})
		if a > l.Offline || l.OfflineBy == "" {
			l.Offline, l.OfflineBy = a, p.Name()
		}
	}
	l.UpperBound = float64(relaxedMax(nodes, pods, gpuPods)) * 100 / float64(capacity)
	return l, nil
}

// typeFreedom orders requests of one size for the offline packing: those
// allowed fewer card types first, untyped ones last.
func typeFreedom(r *placement.Request) int {
	if len(r.Types) == 0 {
		return 1 << 20
	}
	return len(r.Types)
}

// tightestFit is the offline packing's node choice: the node the request
// leaves the least GPU free on, then the least CPU; the cards are
// bestfit's (a share on the tightest card).
type tightestFit struct{}

func (tightestFit) Name() string { return "first-fit decreasing, tightest node" }

func (tightestFit) Evaluate(n *placement.Node, r *placement.Request) placement.Placement {
	pl := placement.BestFit().Evaluate(n, r)
	gpuLeft := float64(n.GPUMilli() - n.UsedGPUMilli() - r.GPUMilli())
	var cpuShare float64
	if n.CPUMilli > 0 {
		cpuShare = float64(n.FreeCPUMilli()-r.CPUMilli) / float64(n.CPUMilli) // below 1: breaks GPU ties only
	}
	return placement.Placement{Score: -(gpuLeft + 0.999*cpuShare), Cards: pl.Cards}
}

// relaxedMax is the maximum GPU milli of pods (indexes of GPU pods) that the
// relaxation of Limit.UpperBound places: a flow from each group of pods of
// the same request to the node classes the request fits on when they are
// empty, each class carrying at most its GPU.
func relaxedMax(nodes []placement.Node, pods []Pod, idx []int) int64 {
	type class struct {
		key   string
		node  *placement.Node // an empty node of the class
		milli int64
	}
	var classes []class
	byKey := map[string]int{}
	for i := range nodes {
		n := &nodes[i]
		if len(n.Cards) == 0 {
			continue
		}
		k := fmt.Sprintf("%s/%d/%d/%d", n.Cards[0].Type, len(n.Cards), n.CPUMilli, n.MemoryMiB)
		for _, c := range n.Cards[1:] {
			k += "/" + c.Type
		}
		c, ok := byKey[k]
		if !ok {
			empty := *n
			empty.Cards = append([]placement.Card(nil), n.Cards...)
			for j := range empty.Cards {
				empty.Cards[j].UsedMilli, empty.Cards[j].UsedMemoryMiB = 0, 0
			}
			empty.UsedCPUMilli, empty.UsedMemoryMiB = 0, 0
			c = len(classes)
			byKey[k] = c
			classes = append(classes, class{key: k, node: &empty})
		}
		classes[c].milli += n.GPUMilli()
	}
	type group struct {
		demand int64
		fits   []int
	}
	var groups []group
	byReq := map[string]int{}
	for _, k := range idx {
		r := &pods[k].Request
		key := fmt.Sprintf("%d/%d/%d/%d/%s", r.Cards, r.Milli, r.CPUMilli, r.MemoryMiB, strings.Join(r.Types, "|"))
		g, ok := byReq[key]
		if !ok {
			var fits []int
			for c := range classes {
				if placement.Check(classes[c].node, r).OK() {
					fits = append(fits, c)
				}
			}
			g = len(groups)
			byReq[key] = g
			groups = append(groups, group{fits: fits})
		}
		groups[g].demand += r.GPUMilli()
	}
	// A flow network: source -> group (demand) -> class (unbounded) -> sink
	// (the class's GPU); maximum flow by augmenting shortest paths.
	nG, nC := len(groups), len(classes)
	src, sink := nG+nC, nG+nC+1
	size := nG + nC + 2
	capa := make([][]int64, size)
	for i := range capa {
		capa[i] = make([]int64, size)
	}
	const unbounded = int64(1) << 50
	for g := range groups {
		capa[src][g] = groups[g].demand
		for _, c := range groups[g].fits {
			capa[g][nG+c] = unbounded
		}
	}
	for c := range classes {
		capa[nG+c][sink] = classes[c].milli
	}
	var flow int64
	prev := make([]int, size)
	for {
		for i := range prev {
			prev[i] = -1
		}
		prev[src] = src
		queue := []int{src}
		for len(queue) > 0 && prev[sink] < 0 {
			u := queue[0]
			queue = queue[1:]
			for v := 0; v < size; v++ {
				if prev[v] < 0 && capa[u][v] > 0 {
					prev[v] = u
					queue = append(queue, v)
				}
			}
		}
		if prev[sink] < 0 {
			return flow
		}
		push := unbounded
		for v := sink; v != src; v = prev[v] {
			push = min(push, capa[prev[v]][v])
		}
		for v := sink; v != src; v = prev[v] {
			capa[prev[v]][v] -= push
			capa[v][prev[v]] += push
		}
		flow += push
	}
}
