package placement

import "math"

// MaxScore is the best score the extender gives a node (kube-scheduler
// extender scores run 0..10).
const MaxScore = 10

// Normalize maps the raw scores of one policy for one request over the
// candidate nodes to 0..MaxScore. The best raw score (and only it) gets
// MaxScore; the others spread linearly over 0..MaxScore-1 between the worst
// and the best. So the node kube-scheduler picks — at random among the
// highest totals — is one the policy ranks first, as the simulator picks.
// NaN counts as the worst. out must be as long as raw.
func Normalize(raw []float64, out []int64) {
	if len(raw) == 0 {
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range raw {
		if math.IsNaN(v) {
			continue
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	for i, v := range raw {
		switch {
		case math.IsNaN(v) || math.IsInf(hi, -1):
			out[i] = 0
		case v == hi:
			out[i] = MaxScore
		default:
			out[i] = int64(math.Floor((MaxScore - 1) * (v - lo) / (hi - lo)))
		}
	}
}

// ScoreNodes evaluates p for r on every node of nodes (each must fit r) and
// writes the raw scores to raw and their 0..MaxScore form to out; both must
// be as long as nodes.
func ScoreNodes(p Policy, nodes []*Node, r *Request, raw []float64, out []int64) {
	for i, n := range nodes {
		raw[i] = p.Evaluate(n, r).Score
	}
	Normalize(raw, out)
}
