// Package cluster runs a real, local Kubernetes control plane for tests and the demo:
// etcd, kube-apiserver and, on request, kube-scheduler and kube-controller-manager
// (StartScheduler, StartControllerManager), each as its own process listening
// on free 127.0.0.1 ports, with certificates made on the fly and every file in one
// temporary directory that Stop removes.
//
// The programs come from the bin directory (see BinDir); `make tools` builds them.
// Nodes are plain Node objects with capacity and a Ready condition (AddGPUNode): there is
// no kubelet, so pods are scheduled and bound but never run, and no controller manager
// unless a test starts one with the controllers it needs.
//
// This package is test infrastructure: production code must not import it, and it
// imports no gpuplane package.
//
// It is about 1,800 lines, above the 1,500 we aim for, because a Cluster is one owner:
// one temporary directory, one certificate authority and one lock over the programs it
// started. The schedulers and the controller manager started after Start (scheduler.go,
// controllermanager.go) and the users given configs (users.go) get their certificates
// from that authority (certs.go) and put their files in that directory, through the
// Cluster's unexported fields, and the programs started later join the cluster's under
// its lock. If it grows, the seam is the process runner: process.go, wait.go, ports.go
// and the sysproc files (about 280 lines) use nothing else of the package; the cluster
// would import it with waitReady, startOnFreePorts and logTailBytes exported, and
// hack/demo, which names its Process, would import it too.
package cluster
