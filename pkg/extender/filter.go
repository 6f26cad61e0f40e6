package extender

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// Filter answers kube-scheduler's filter call: every candidate node the pod
// fits, and for the others a reason naming the node and the shortfall. With
// nodeCacheCapable the candidates come as names and go back as names;
// otherwise as Node objects, and the fitting ones go back as they came.
func (e *Extender) Filter(ctx context.Context, args *extenderv1.ExtenderArgs) *extenderv1.ExtenderFilterResult {
	if args.Pod == nil {
		return &extenderv1.ExtenderFilterResult{Error: "filter: the arguments name no pod"}
	}
	names := candidateNames(args)
	res := &extenderv1.ExtenderFilterResult{
		FailedNodes:                extenderv1.FailedNodesMap{},
		FailedAndUnresolvableNodes: extenderv1.FailedNodesMap{},
	}
	fit := make([]bool, len(names))
	req, err := translate(args.Pod, e.voc)
	switch {
	case err != nil:
		klog.FromContext(ctx).V(2).Info("Pod's GPU request is unusable", "pod", klog.KObj(args.Pod), "err", err)
		for _, name := range names {
			res.FailedAndUnresolvableNodes[name] = fmt.Sprintf("%s: %v", name, err)
		}
	case !req.gpu():
		// Not a GPU pod: host resources are kube-scheduler's business.
		for i := range fit {
			fit[i] = true
		}
	default:
		snaps := make([]*nodeSnapshot, len(names))
		e.state.snapshots(names, snaps)
		verdicts := make([]verdict, len(names))
		parallelize(len(names), func(_, lo, hi int) {
			var memo reasonMemo
			for i := lo; i < hi; i++ {
				if snaps[i] == nil {
					verdicts[i] = verdict{reason: names[i] + ": no such node known to the extender (yet)"}
					continue
				}
				verdicts[i] = checkWith(snaps[i], &req, e.policy, &memo)
			}
		})
		resolvable, unresolvable := 0, 0
		for _, v := range verdicts {
			switch {
			case v.ok:
			case v.resolvable:
				resolvable++
			default:
				unresolvable++
			}
		}
		res.FailedNodes = make(extenderv1.FailedNodesMap, resolvable)
		res.FailedAndUnresolvableNodes = make(extenderv1.FailedNodesMap, unresolvable)
		for i, v := range verdicts {
			switch {
			case v.ok:
				fit[i] = true
			case v.resolvable:
				res.FailedNodes[names[i]] = v.reason
			default:
				res.FailedAndUnresolvableNodes[names[i]] = v.reason
			}
		}
	}
	fitting := 0
	for _, ok := range fit {
		if ok {
			fitting++
		}
	}
	e.metrics.nodes.WithLabelValues("fit").Add(float64(fitting))
	e.metrics.nodes.WithLabelValues("unfit").Add(float64(len(names) - fitting))
	if args.NodeNames != nil {
		out := make([]string, 0, fitting)
		for i, name := range names {
			if fit[i] {
				out = append(out, name)
			}
		}
		res.NodeNames = &out
		return res
	}
	out := &corev1.NodeList{Items: make([]corev1.Node, 0, fitting)}
	if args.Nodes != nil {
		for i := range args.Nodes.Items {
			if fit[i] {
				out.Items = append(out.Items, args.Nodes.Items[i])
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
