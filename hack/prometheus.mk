# A real Prometheus server for the end-to-end tests: it scrapes a fake dcgm-exporter and
# evaluates the prometheus-adapter rule from deploy/addons/prometheus-adapter.
# Included by the Makefile; BIN and GO come from there.

PROMETHEUS := $(BIN)/prometheus

.PHONY: prometheus

prometheus: $(PROMETHEUS) ## build Prometheus (pinned in hack/prometheus) into bin/ when missing

# The adapter test runs the rule's PromQL through this server.
e2e: prometheus

# Rebuilt when the pin changes; built beside the target and renamed, so an
# interrupted build never leaves a half-written program. netgo keeps the resolver
# in Go, so the program needs no C library.
$(PROMETHEUS): hack/prometheus/go.mod hack/prometheus/go.sum
	@mkdir -p $(BIN)
	cd hack/prometheus && GOWORK=off CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" \
		-tags "netgo" -o $(BIN)/.prometheus.tmp github.com/prometheus/prometheus/cmd/prometheus
	mv -f $(BIN)/.prometheus.tmp $@
