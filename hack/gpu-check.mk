# `make gpu-check` (SPEC §8): NVML discovery and `nodeagent check` against the
# machine's real NVIDIA driver, through the tests tagged `gpu`
# (pkg/nodeagent/gpu_test.go); where there is no driver it says so and exits 0.
# `make gpu-check-build` builds what it runs into bin/gpu-check/ (the tagged test
# binary, the node agent and hack/gpu-check.sh), for a GPU machine without Go:
# copy the directory there and run `gpu-check/gpu-check.sh`.
# Included by the Makefile; BIN and GO come from there.

GPU_CHECK_DIR := $(BIN)/gpu-check

.PHONY: gpu-check gpu-check-build

gpu-check: gpu-check-build ## NVML discovery and nodeagent check on this machine's driver (exit 0 without one)
	$(GPU_CHECK_DIR)/gpu-check.sh

# cgo: go-nvml opens libnvidia-ml.so.1 with dlopen, so nothing of the driver is
# needed to build, only to run.
gpu-check-build: ## build the gpu-tagged tests, the node agent and the script into bin/gpu-check/
	mkdir -p $(GPU_CHECK_DIR)
	CGO_ENABLED=1 $(GO) test -c -tags gpu -o $(GPU_CHECK_DIR)/nodeagent-gpu.test ./pkg/nodeagent
	CGO_ENABLED=1 $(GO) build -o $(GPU_CHECK_DIR)/nodeagent ./cmd/nodeagent
	cp hack/gpu-check.sh $(GPU_CHECK_DIR)/gpu-check.sh
