package nodeagent

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// slicesListCards tells whether a DRA driver's ResourceSlices list the node's
// cards: --dra, or the node's pool (--pool, else its gpuplane.io/pool label,
// else "default") allocates by DRA (docs/dra.md). The devices annotation would
// then say the same thing a second time, and could say it differently.
func slicesListCards(node *corev1.Node, flag bool, poolFlag string, cat *catalog.Catalog) bool {
	if flag {
		return true
	}
	pool := catalog.DefaultPool
	if v, ok := node.Labels[catalog.PoolLabel]; ok {
		pool = v
	}
	if poolFlag != "" {
		pool = poolFlag
	}
	for _, p := range cat.Pools {
		if p.Name == pool {
			return p.Allocation == catalog.AllocationDRA
		}
	}
	return false
}

// withoutDevices is the plan without the devices annotation: the agent leaves
// it out of what it applies, so the API server removes the one it wrote, and
// one someone else wrote stays as it is.
func (p metadataPlan) withoutDevices(node *corev1.Node, w written) metadataPlan {
	delete(p.Annotations, api.AnnotationDevices)
	p.Kept = slices.DeleteFunc(slices.Clone(p.Kept), func(k keptKey) bool {
		return k.Kind == "annotation" && k.Key == api.AnnotationDevices
	})
	p.Changes = differs(node.Labels, p.Labels, w.Labels) || differs(node.Annotations, p.Annotations, w.Annotations)
	return p
}
