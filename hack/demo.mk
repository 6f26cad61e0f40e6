# `make demo`: gpuplane on a local control plane (hack/demo, docs/demo.md). Included
# by the Makefile, which sets BIN and GO and exports GPUPLANE_BIN_DIR.

# DEMO_FLAGS are passed to the demo: --keep leaves everything running for kubectl
# until Ctrl-C, --json FILE writes the outcome of every request.
DEMO_FLAGS ?=

.PHONY: demo demo-programs

demo: tools demo-programs ## gpuplane on a local control plane: GPU requests, where they land and why (DEMO_FLAGS=--keep)
	$(BIN)/demo $(DEMO_FLAGS)

# go build relinks only what changed: on a warm cache this costs a second or two.
demo-programs:
	$(GO) build -o $(BIN)/ ./cmd/webhook ./cmd/extender ./cmd/nodeagent ./hack/demo
