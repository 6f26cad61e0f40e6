package extender

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/pkg/extender/request"
	"github.com/gpuplane/gpuplane/pkg/extender/wire"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

// The values of the result label of gpuplane_extender_preemption_nodes_total.
const (
	preemptVictims      = "victims"
	preemptFits         = "fits"
	preemptNoVictims    = "no_victims"
	preemptUnresolvable = "unresolvable"
	preemptUnknown      = "unknown"
)

// Preempt answers kube-scheduler's preempt call (its ProcessPreemption):
// for each candidate node kube-scheduler's own dry run found, the pods to
// preempt there so that the pod's GPU request fits, as placement.Victims
// chooses them on the extender's picture of the node (only pods of
// strictly lower priority; the lowest and fewest). A node where no
// preemption makes the pod fit, or where it fits already, is left out;
// kube-scheduler picks one of the nodes answered and preempts the pods
// named there, which may include pods its own dry run did not propose
// (they are looked up by UID on the node). With nodeCacheCapable the
// candidates come as pod UIDs, without it as Pods; the answer is UIDs
// either way.
//
// Each node's NumPDBViolations is kube-scheduler's: the extender does not
// read PodDisruptionBudgets. A pod whose GPU request the extender cannot
// weigh as one request (several vGPU containers, an unusable request) is
// given no node; a pod without a GPU request gets kube-scheduler's
// candidates back as they came.
func (e *Extender) Preempt(ctx context.Context, args *extenderv1.ExtenderPreemptionArgs) (*extenderv1.ExtenderPreemptionResult, error) {
	if args.Pod == nil {
		return nil, fmt.Errorf("%w: the arguments name no pod", wire.ErrBadRequest)
	}
	pod := args.Pod
	prio := corev1helpers.PodPriority(pod)
	logger := klog.FromContext(ctx).WithValues("pod", klog.KObj(pod), "priority", prio)
	proposed := proposals(args)
	names := make([]string, 0, len(proposed))
	for name := range proposed {
		names = append(names, name)
	}
	slices.Sort(names)
	out := &extenderv1.ExtenderPreemptionResult{NodeNameToMetaVictims: make(map[string]*extenderv1.MetaVictims, len(names))}

	req, err := request.Of(pod, e.voc)
	switch {
	case err != nil:
		logger.Info("Preemption declined: the pod's GPU request is unusable", "err", err)
		e.metrics.preemptNodes.WithLabelValues(preemptUnknown).Add(float64(len(names)))
		return out, nil
	case !req.GPU():
		for _, name := range names {
			out.NodeNameToMetaVictims[name] = proposed[name].metaVictims()
		}
		return out, nil
	case len(req.Parts) != 1:
		logger.Info("Preemption declined: the pod asks for cards in several vGPU containers", "containers", len(req.Parts))
		e.metrics.preemptNodes.WithLabelValues(preemptUnknown).Add(float64(len(names)))
		return out, nil
	}
	for _, name := range names {
		p := proposed[name]
		victims, keys, result, reason := e.victimsOn(name, &req, prio, p)
		e.metrics.preemptNodes.WithLabelValues(result).Inc()
		if result != preemptVictims {
			logger.V(2).Info("Node left out of preemption", "node", name, "result", result, "reason", reason)
			continue
		}
		e.metrics.preemptVictims.Add(float64(len(victims)))
		mv := &extenderv1.MetaVictims{Pods: make([]*extenderv1.MetaPod, len(victims)), NumPDBViolations: p.pdbViolations}
		uids := make([]string, len(victims))
		for i, uid := range victims {
			mv.Pods[i] = &extenderv1.MetaPod{UID: string(uid)}
			uids[i] = string(uid)
		}
		out.NodeNameToMetaVictims[name] = mv
		logger.Info("Preemption victims named", "node", name, "victims", keys, "uids", uids, "proposedByScheduler", len(p.uids))
	}
	logger.Info("Preemption decided", "candidates", len(names), "nodesWithVictims", len(out.NodeNameToMetaVictims))
	return out, nil
}

// proposal is what kube-scheduler's dry run proposed on one node.
type proposal struct {
	uids          []types.UID
	pdbViolations int64
}

func (p proposal) metaVictims() *extenderv1.MetaVictims {
	mv := &extenderv1.MetaVictims{Pods: make([]*extenderv1.MetaPod, len(p.uids)), NumPDBViolations: p.pdbViolations}
	for i, uid := range p.uids {
		mv.Pods[i] = &extenderv1.MetaPod{UID: string(uid)}
	}
	return mv
}

// proposals reads the candidate nodes and their proposed victims, as UIDs
// (nodeCacheCapable) or Pods.
func proposals(args *extenderv1.ExtenderPreemptionArgs) map[string]proposal {
	out := make(map[string]proposal, len(args.NodeNameToMetaVictims)+len(args.NodeNameToVictims))
	for name, v := range args.NodeNameToVictims {
		var p proposal
		if v != nil {
			p.pdbViolations = v.NumPDBViolations
			for _, pod := range v.Pods {
				if pod != nil {
					p.uids = append(p.uids, pod.UID)
				}
			}
		}
		out[name] = p
	}
	for name, v := range args.NodeNameToMetaVictims {
		var p proposal
		if v != nil {
			p.pdbViolations = v.NumPDBViolations
			for _, mp := range v.Pods {
				if mp != nil {
					p.uids = append(p.uids, types.UID(mp.UID))
				}
			}
		}
		out[name] = p
	}
	return out
}

// victimsOn chooses the victims on one node: their UIDs and names, or the
// result label and the reason there are none.
func (e *Extender) victimsOn(name string, req *request.Pod, prio int32, p proposal) ([]types.UID, []string, string, string) {
	snap, holders, refs := e.state.Holders(name, p.uids)
	switch {
	case snap == nil:
		return nil, nil, preemptUnknown, name + ": no such node known to the extender (yet)"
	case snap.Err() != nil:
		return nil, nil, preemptUnknown, snap.Err().Error()
	}
	if v, ok := checkVendor(snap, req); !ok {
		return nil, nil, preemptUnresolvable, v.text()
	}
	idx, err := placement.Victims(snap.Node(), holders, &req.Parts[0].Req, prio)
	switch {
	case errors.Is(err, placement.ErrUnresolvable):
		return nil, nil, preemptUnresolvable, err.Error()
	case errors.Is(err, placement.ErrNoVictims):
		return nil, nil, preemptNoVictims, err.Error()
	case err != nil:
		return nil, nil, preemptUnknown, err.Error()
	case len(idx) == 0:
		return nil, nil, preemptFits, name + ": the pod fits without preempting"
	}
	uids := make([]types.UID, len(idx))
	keys := make([]string, len(idx))
	for i, x := range idx {
		uids[i], keys[i] = refs[x].UID, refs[x].Key
	}
	return uids, keys, preemptVictims, ""
}
