# Tools for deploy/: kustomize renders the manifests, the CRD sources let the tests
# check ServiceMonitor, Certificate, Issuer and ScaledObject objects against their real
# schemas.
# Included by the Makefile; BIN and GO come from there.

KUSTOMIZE := $(BIN)/kustomize
# The modules whose CRD YAML the deploy tests install; versions pinned in hack/crds/go.mod.
CRD_MODULES := github.com/prometheus-operator/prometheus-operator github.com/cert-manager/cert-manager \
	github.com/kedacore/keda/v2

.PHONY: deploy-tools kustomize crds manifests

deploy-tools: kustomize crds ## kustomize into bin/ and the CRD sources into the module cache

# The end-to-end tests render deploy/ and dry-run it against the API server.
e2e: deploy-tools

kustomize: $(KUSTOMIZE) ## build kustomize (pinned in hack/kustomize) into bin/

# Rebuilt when the pin changes; built beside the target and renamed, so an
# interrupted build never leaves a half-written program.
$(KUSTOMIZE): hack/kustomize/go.mod hack/kustomize/go.sum
	@mkdir -p $(BIN)
	cd hack/kustomize && GOWORK=off CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" \
		-o $(BIN)/.kustomize.tmp sigs.k8s.io/kustomize/kustomize/v5
	mv -f $(BIN)/.kustomize.tmp $@

crds: ## fetch the ServiceMonitor, cert-manager and KEDA CRD sources into the Go module cache
	cd hack/crds && GOWORK=off $(GO) mod download $(CRD_MODULES)

# `make kubectl` (hack/tools.mk) installs Debian's kubernetes-client, whose built-in
# kustomize is too old for deploy/ (components, patches): render with bin/kustomize
# and pipe, `bin/kustomize build deploy/default | kubectl apply -f -`, or use a
# kubectl of 1.27 or later, whose kustomize is v5.

manifests: kustomize ## print the default manifests (deploy/default) as applied
	@$(KUSTOMIZE) build deploy/default
