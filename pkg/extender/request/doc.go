// Package request reads what a pod asks of a node in placement's terms
// (Of: its whole cards, each container's vGPU share or virtual cards, its
// card types and its host CPU and memory), with the names and units of a
// Vocabulary taken from the catalog.
//
// It is a package of its own because two jobs read pods the same way: the
// cache, to record what a bound pod holds, and the verbs, to check and
// place a pending one; kube-scheduler likewise keeps the types its cache
// and its plugins share (framework's PodInfo) apart from both. It reads
// only the pod's resources and node affinity, not the webhook's
// annotations, so pods written by hand are served alike.
//
// It may import pkg/placement, pkg/catalog and Kubernetes' API types; it
// must not import the extender's other packages, a client, or anything
// that keeps state.
package request
