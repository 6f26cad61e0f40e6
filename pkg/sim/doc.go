// Package sim replays a GPU cluster trace in the Alibaba format (the ATC '23
// "openb" node and pod lists) through pkg/placement — the same Check and
// Policy.Evaluate the extender's filter and prioritize call — and reports the
// allocation rate, following the protocol of the paper's simulator.
//
// It imports pkg/placement and the standard library only: no Kubernetes, no
// clients. Its command, RunSimulate, is the `simulate` subcommand of
// cmd/extender.
package sim
