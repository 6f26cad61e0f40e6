# Control-plane programs for tests and the demo, and kubectl. Included by the Makefile,
# which sets BIN (default here: bin/ at the root) and exports GPUPLANE_BIN_DIR.

BIN ?= $(CURDIR)/bin
GO ?= go
CONTROL_PLANE := $(BIN)/etcd $(BIN)/kube-apiserver $(BIN)/kube-scheduler $(BIN)/kube-controller-manager

.PHONY: tools cluster kubectl

tools: $(CONTROL_PLANE) ## build etcd, kube-apiserver, kube-scheduler, kube-controller-manager into bin/ when missing

# Rebuilt only when missing, or older than the pinned versions (after a bump).
$(CONTROL_PLANE): $(BIN)/%: hack/tools/go.mod hack/tools/go.sum
	GPUPLANE_BIN_DIR=$(BIN) hack/build-tools.sh -f $*

cluster: tools ## start a local control plane (CLUSTER_FLAGS="--gpu-nodes=8,4,2"); Ctrl-C stops it
	GPUPLANE_BIN_DIR=$(BIN) $(GO) run ./test/cluster/cmd/cluster $(CLUSTER_FLAGS)

kubectl: ## install kubectl (Debian package kubernetes-client) when absent
	@command -v kubectl >/dev/null 2>&1 || { apt-get update && apt-get install -y kubernetes-client; }
