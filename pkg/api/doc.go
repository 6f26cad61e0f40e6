// Package api holds gpuplane's wire contract with Kubernetes objects: the
// annotation and label keys the three programs read and write, the node
// condition types, and the versioned JSON carried in annotations, each with
// exactly one Encode/Decode pair.
//
// It is a leaf: it must not import any other gpuplane package, nor any
// Kubernetes client. Everything here is part of the external contract
// (SPEC §2, §4, §5); changing a key or a JSON field breaks running clusters.
package api
