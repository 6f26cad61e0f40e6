// Package extender is gpuplane's kube-scheduler extender: an HTTP server
// speaking the extender v1 wire format (filter, prioritize, bind) on top of a
// picture of the cluster's GPUs kept current from shared informers.
//
// It is an adapter: the decisions themselves — does a request fit a node and
// why not, which cards it takes, how good a node is — are made by
// pkg/placement, the same code the trace simulator runs. This package turns
// pods and nodes into placement's terms (request.go, nodeinfo.go), keeps
// what is allocated on every card (state.go), and writes the chosen cards on
// the pod before binding it (bind.go). The informers' caches hold summaries
// of bound pods and of nodes, not the objects (cachedpod.go, cachednode.go).
//
// The program around it — flags, the API client, listeners, the servers —
// is cmd/extender/app; this package takes its clients and registries from
// the caller and reads no flags.
//
// It may import pkg/placement, pkg/api, pkg/catalog and pkg/load, and
// Kubernetes client libraries; it must not import pkg/webhook, pkg/sim,
// pkg/nodeagent, cmd/..., a flag library, nor any test harness.
package extender
