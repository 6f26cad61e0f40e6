// Package extendertest holds the fixtures the tests of the extender's
// packages share: builders of pods and nodes as the webhook and the node
// agent write them (MakePod, MakeNode), a cluster of them for benchmarks
// (Cluster), a fake clock and a test logger.
//
// It is imported by tests only. It may import pkg/api, pkg/catalog and
// Kubernetes' API types; it must not import the extender's packages, whose
// own tests import it.
package extendertest
