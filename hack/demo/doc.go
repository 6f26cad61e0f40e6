// Command demo is `make demo`: it starts a real local control plane (package
// test/cluster), gpuplane's webhook, scheduler extender and node agents on simulated
// cards, kube-scheduler with the scheduler configuration of deploy/, submits GPU
// requests written in the shorthand, prints where each landed and why, and stops
// everything.
//
// It runs the programs as they are built (bin/webhook, bin/extender, bin/nodeagent)
// and loads the configurations an operator applies (deploy/), substituting only the
// addresses a host-run demo needs: setup.go starts it all (ready.go waits for each
// part), submit.go sends the requests and waits for each outcome, report.go prints
// the table.
//
// It is a tool, not a library: nothing imports it. It may import test/cluster and
// pkg/api and pkg/catalog, and must not import the programs' adapters
// (pkg/webhook, pkg/extender, pkg/nodeagent): those run as the processes they ship as.
package main
