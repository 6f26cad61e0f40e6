//go:build tools

// Package tools pins the programs that tests and the demo run as a real control plane:
// etcd, kube-apiserver and kube-scheduler. It is never compiled into gpuplane; the build
// tag only makes the module graph hold these commands so that `go build` can build them.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
