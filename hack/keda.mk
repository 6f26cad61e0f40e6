# KEDA's operator and metrics API server for the autoscaling end-to-end test, built
# from the module pinned in hack/keda (which copies KEDA's own replace block).
# Included by the Makefile; BIN and GO come from there.

KEDA := $(BIN)/keda $(BIN)/keda-adapter
# The version the programs report; it must match github.com/kedacore/keda/v2 in
# hack/keda/go.mod.
KEDA_VERSION = $(shell awk '{ for (i = 1; i < NF; i++) if ($$i == "github.com/kedacore/keda/v2") { print $$(i + 1); exit } }' hack/keda/go.mod)

.PHONY: keda

keda: $(KEDA) ## build KEDA's operator and metrics server (pinned in hack/keda) into bin/ when missing

# TestGPUAutoscaling runs both against the local control plane.
e2e: keda

# Rebuilt when the pin changes; built beside the target and renamed, so an
# interrupted build never leaves a half-written program.
$(BIN)/keda: PKG = github.com/kedacore/keda/v2/cmd/operator
$(BIN)/keda-adapter: PKG = github.com/kedacore/keda/v2/cmd/adapter
$(KEDA): hack/keda/go.mod hack/keda/go.sum
	@mkdir -p $(BIN)
	cd hack/keda && GOWORK=off CGO_ENABLED=0 $(GO) build -trimpath \
		-ldflags "-s -w -X github.com/kedacore/keda/v2/version.Version=$(KEDA_VERSION)" \
		-o $(BIN)/.$(notdir $@).tmp $(PKG)
	mv -f $(BIN)/.$(notdir $@).tmp $@
