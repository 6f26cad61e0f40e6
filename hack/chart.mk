# The Helm chart charts/gpuplane and its tests. test/chart is a module of its own, so
# that the Helm SDK and the kustomize library it renders with stay out of gpuplane's
# go.mod: it renders the chart and deploy/ and compares them object by object, checks
# values.schema.json, NOTES.txt and the values table of docs/deploy.md, and lints
# the chart, with no cluster; its e2e test dry-runs the chart's objects on a real
# kube-apiserver. Included by the Makefile; BIN and GO come from there.

.PHONY: chart-test chart-e2e

# Without -race: the test renders in one goroutine, and the race detector would
# only double the compile of the Helm SDK.
chart-test: ## test the Helm chart against deploy/ (test/chart: render, compare, schema, lint)
	cd test/chart && GOWORK=off $(GO) vet ./... && GOWORK=off $(GO) vet -tags e2e ./... && \
		GOWORK=off $(GO) test -count=1 ./...

chart-e2e: tools crds ## the chart's objects for every tested set of values, dry-run on a real kube-apiserver
	cd test/chart && GOWORK=off $(GO) test -count=1 -tags e2e -run '^TestChartDryRun$$' ./...

unit: chart-test
e2e: chart-e2e
