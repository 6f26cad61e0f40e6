// Package perf measures gpuplane at cluster scale and writes what it measured:
// the admission webhook under HTTPS load (webhookload.go), the extender's
// filter and prioritize over HTTP against thousands of nodes fed through its
// real informers (extenderscale.go, fakeapi.go, fleet.go), and kube-scheduler
// on a real local control plane with and without the extender (endtoend.go),
// and a trace's pods replayed one at a time through the webhook,
// kube-scheduler and the extender against the simulator (replay.go,
// replaydriver.go, trace.go). Figures carry every repeat and their min/median/max (results.go); report.go
// renders them into docs/performance.md. The command is test/perf/cmd/perf;
// `make bench` runs it.
//
// This is test infrastructure: production code must not import it. It drives
// the programs through their own packages and binaries and changes none of
// them. Servers listen on 127.0.0.1 only, and every load loop is bounded in
// count and time. Nothing here asserts a timing: the figures are reported,
// and the goals are compared in the report only.
package perf
