// Package extender is gpuplane's kube-scheduler extender: the verbs
// kube-scheduler calls (filter, filter-best, prioritize, bind) and the HTTP
// handler that serves them with /state, the probes and /metrics.
//
// It is an adapter: the decisions themselves — does a request fit a node and
// why not, which cards it takes, how good a node is — are made by
// pkg/placement, the same code the trace simulator runs. The extender's
// other jobs each have a package of their own, as kube-scheduler keeps its
// cache, its framework and its HTTP extender apart, so that a behaviour is
// found by its folder:
//
//   - pkg/extender/request reads what a pod asks, in placement's terms;
//   - pkg/extender/cache keeps what every node holds, fed by informers and
//     by this package's binds (Reserve, Forget), and publishes a snapshot
//     per node that the verbs read without locks;
//   - pkg/extender/wire is the JSON codec of the extender wire format.
//
// Here are the verbs (filter.go, best.go, prioritize.go, bind.go, with
// fit.go for checking and choosing cards on a snapshot and reason.go for
// wording refusals), the policy as served (policy.go), the handler
// (http.go), the working memory a call borrows (scratch.go) and the
// extender's metrics (metrics.go).
//
// The program around it — flags, the API client, listeners, the servers —
// is cmd/extender/app; this package takes its clients and registries from
// the caller and reads no flags.
//
// It may import its subpackages, pkg/placement, pkg/api, pkg/catalog and
// pkg/load, and Kubernetes client libraries; it must not import pkg/webhook,
// pkg/sim, pkg/nodeagent, cmd/..., a flag library, nor any test harness.
//
// It is about 2,200 lines, above the 1,500 we aim for, because its verbs are
// methods of one Extender that read its unexported fields (the cache's
// state, the vocabulary, the policy, the metrics, the clock, the DRA view)
// and check a pod against a snapshot with one set of unexported functions in
// fit.go (checkWith for filter, fits and score for prioritize, choose and
// assignment for bind, checkVendor for preempt), all of which go through the
// same vendor check; filter and prioritize read a pod and its nodes'
// snapshots through dra.go (requestOf, snapshots); the handler (http.go)
// calls filter's and filter-best's unexported forms to write their outcome
// straight into the wire format, and those forms borrow their slices from
// the Extender's pool (scratch.go). If it grows, the seam is bind (bind.go,
// bindhami.go, about 290 lines), the only code here that uses the API
// client: moving it out would take the client with it and need the state,
// the policy, the metrics and fit.go's choose and assignment exported to it.
package extender
