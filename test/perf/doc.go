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
//
// It is about 5,200 lines, far above the 1,500 we aim for, because its
// scenarios are built from one kit of unexported parts: the child process
// that reports ready on its log (child.go: startChild, readReady, stop) and
// the defaults of a RunEnv (runenv.go) serve every scenario; the fleet's pod
// builders (fleet.go) serve the extender, end-to-end and webhook runs; the
// extender's client (extenderscale.go) is also the end-to-end and webhook
// runs'; and the command (command.go) reaches into the replay and the
// extender run by unexported names. If it grows, the seam is the figures and
// their report: results.go, report.go, stats.go and machine.go (about 630
// lines) use nothing unexported of the scenarios, which use only their
// exported names, so they could become a package the scenarios import; of
// their tests, results_test.go borrows fleet.go's ptrTo and fuzz_test.go
// mixes their parsers with apimetrics.go's.
package perf
