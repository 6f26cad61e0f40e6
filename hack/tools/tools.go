//go:build tools

// Package tools pins the programs that tests and the demo run as a real control plane:
// etcd, kube-apiserver, kube-scheduler and kube-controller-manager. It is never compiled into gpuplane; the build
// tag only makes the module graph hold these commands so that `go build` can build them.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
