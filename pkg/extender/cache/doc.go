// Package cache is the extender's picture of the cluster's GPUs: an
// assume/forget cache of nodes and pods in the manner of kube-scheduler's
// own (pkg/scheduler/backend/cache). Informers feed it (Informers: the
// nodes' cards and what each bound pod holds, kept as summaries in the
// informers' caches, see cachedpod.go and cachednode.go); the extender's
// binds book pods on it before the informer shows them bound (Reserve,
// Forget, and an expiry for binds never confirmed); every node publishes an
// immutable snapshot after each change (NodeSnapshot), which the verbs read
// without locks, thousands per call found by name through a copy-on-write
// index of the names (Resolve). View is what /state serves.
//
// It is a package of its own because it is a job of its own: what a node
// holds and how that stays right while informer events and binds race on
// it, apart from how a pod is placed (the verbs, package extender) and
// from the wire format (package wire). Its one lock discipline — the map's
// lock before a node's, a node's before the assumed pods' — holds across
// state.go, the transforms and the expiry, which is why the informer's
// handlers and summaries live here too, and why the package is about 2,350
// lines, above the 1,500 we aim for: splitting them off would export the
// pod records and the state's locking to another package. If it grows, the
// seam is what a node offers as read from its Node object (nodeinfo.go,
// nodesharing.go, about 230 lines): it uses nothing else of the package,
// and would leave with its method sameCards (cachednode.go) and with
// nodeInfo's fields exported to the snapshot, the state and the informer's
// node summary that read them.
//
// It may import pkg/placement, pkg/api, pkg/extender/request and client-go;
// it must not import the verbs (pkg/extender), pkg/extender/wire, pkg/load,
// Prometheus, or a flag library. What it reports goes out through its
// callers (RunExpiry's callback, Sizes), not through metrics of its own.
package cache
