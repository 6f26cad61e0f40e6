// Command cluster starts a local control plane (etcd, kube-apiserver, kube-scheduler)
// for trying gpuplane by hand, prints how to reach it, and stops it on Ctrl-C
// (SIGINT) or SIGTERM, removing its files. `make cluster` runs it.
//
// It imports test/cluster only; nothing imports it.
package main
