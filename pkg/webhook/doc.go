// Package webhook is gpuplane's admission webhook (SPEC §1, §2, §7): the pod mutator
// that turns the gpuplane.io/gpu shorthand into resources, node affinity, tolerations,
// a scheduler and environment (Mutate, PodMutator); the validator that checks the same
// request in workload templates (WorkloadValidator); `webhook explain` (Explain,
// ExplainPod); the JSON patch built from the typed change; metrics; the server's TLS
// configuration (served by internal/httpserver); and the self-signed certificates kept
// in a Secret for clusters without cert-manager (SelfSigned).
//
// Everything that decides about a pod is the pure function Mutate; the handlers only
// decode, call it and encode. The package is an adapter over pkg/catalog and
// pkg/gpuspec (and pkg/api for the annotation keys); it must not import the other
// adapters (extender, nodeagent, sim) nor any test harness.
//
// It is about 2,000 lines, above the 1,500 we aim for. The admission side is one
// piece: Mutate, the claim form (claim.go) and explain share mutate.go's unexported
// planning (the plan type, planFor) and word their refusals through one unexported
// refusal (errors.go), the validator checks a workload's pod template with Mutate
// itself, and both handlers count their requests through one unexported handled
// (instrument.go, metrics.go). The self-signed certificates are not: selfsigned.go,
// certs.go and cabundle.go (about 710 lines), with their tests, use nothing else of
// the package and nothing else here uses them, so they are the seam if it grows,
// into a package of their own that cmd/webhook/app, their only caller, would then
// import for NewSelfSigned and SelfSignedOptions.
package webhook
