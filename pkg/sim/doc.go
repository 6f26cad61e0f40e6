// Package sim replays a GPU cluster trace in the Alibaba format (the ATC '23
// "openb" node and pod lists) through pkg/placement — the same Check and
// Policy.Evaluate the extender's filter and prioritize call — and reports the
// allocation rate, following the protocol of the paper's simulator.
//
// It imports pkg/placement and the standard library only: no Kubernetes, no
// clients. Its command, RunSimulate, is the `simulate` subcommand of
// cmd/extender.
//
// It is about 2,100 lines, above the 1,500 we aim for, because a replay is
// one piece: the picker (replay.go) and kube-scheduler's node walk and
// scores as the replay plays them (kubescore.go) share the picker's
// unexported state, and the arrival order (protocol.go) and the tie-breaks
// are drawn from two streams of one seed by the package's own generator
// (rng.go), so that a seed gives the same replay on every Go version; the
// command (command.go) holds ErrUsage, which the replay's parsers return,
// and Trace, whose ServeWith is in sharing.go, and writes its tables with
// report.go's unexported writers. If it grows, the seam is the trace reader
// (csv.go, about 170 lines): it uses nothing else of the package and could
// become a package the replay imports, with test/perf then naming Pod,
// ReadNodes and ReadPods there.
package sim
