// Package placement is the pure core of GPU placement: whether a request fits
// a node (and why not), which cards it takes, and how good a node is for it
// under a policy (binpack, spread, bestfit, fgd, auto, and HAMi's own as
// yardsticks), and which pods of lower priority to preempt so that a request
// fits (Victims). One model serves every sharing backend (sharing.go):
// gpu-manager's and HAMi's shares of a card's cores and memory, HAMi's
// split count as task slots per card, and MIG instances and time-slicing
// replicas as units a node hands out by count.
//
// The scheduler extender (on informer state) and the trace simulator call the
// very same functions, so what the simulator measures is what the extender
// does. The package is a leaf: it imports only the standard library — no
// Kubernetes types, no clients, nothing else from gpuplane — holds no mutable
// package state, and its hot paths (Check, Policy.Evaluate) do not allocate.
//
// Units: GPU cores in milli of a card (1000 = one whole card), memory in MiB,
// CPU in milli-cores.
package placement
