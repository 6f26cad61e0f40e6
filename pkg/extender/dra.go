package extender

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/gpuplane/pkg/extender/cache"
	"github.com/gpuplane/gpuplane/pkg/extender/dra"
	"github.com/gpuplane/gpuplane/pkg/extender/request"
)

// requestOf is what the pod asks: for a pod in gpuplane's DRA form (when the
// extender has a DRA view), the cards its claim asks, read from its
// annotation, with draPod set; otherwise its device-plugin and vGPU
// resources. kube-scheduler's DRA plugin allocates a DRA pod's devices; the
// extender only filters and scores nodes for it.
func (e *Extender) requestOf(pod *corev1.Pod) (req request.Pod, draPod bool, err error) {
	if e.dra != nil {
		if r, ok, err := dra.Request(pod); ok {
			return r, true, err
		}
	}
	r, err := request.Of(pod, e.voc)
	return r, false, err
}

// snapshots fills out with the nodes' pictures: of the DRA view for a pod in
// the DRA form, else of the state. pending, when not nil, gives the bytes
// of the names still to read into names (cache.State.Resolve).
func (e *Extender) snapshots(draPod bool, names []string, pending func(int) []byte, out []*cache.NodeSnapshot) {
	if draPod {
		e.state.Resolve(names, pending, nil)
		e.dra.Snapshots(names, out)
		return
	}
	e.state.Resolve(names, pending, out)
}
