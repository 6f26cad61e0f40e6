// Package cluster runs a real, local Kubernetes control plane for tests and the demo:
// etcd, kube-apiserver and, on request, kube-scheduler, each as its own process listening
// on free 127.0.0.1 ports, with certificates made on the fly and every file in one
// temporary directory that Stop removes.
//
// The programs come from the bin directory (see BinDir); `make tools` builds them.
// Nodes are plain Node objects with capacity and a Ready condition (AddGPUNode): there is
// no kubelet and no controller manager, so pods are scheduled and bound but never run.
//
// This package is test infrastructure: production code must not import it, and it
// imports no gpuplane package.
package cluster
