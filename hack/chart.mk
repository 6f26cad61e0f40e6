# The Helm chart charts/gpuplane and its test. test/chart is a module of its own, so
# that the Helm SDK and the kustomize library it renders with stay out of gpuplane's
# go.mod: it renders the chart and deploy/ and compares them object by object, checks
# values.schema.json, NOTES.txt and the values table of docs/deploy.md, and lints
# the chart. No cluster needed. Included by the Makefile; GO comes from there.

.PHONY: chart-test

# Without -race: the test renders in one goroutine, and the race detector would
# only double the compile of the Helm SDK.
chart-test: ## test the Helm chart against deploy/ (test/chart: render, compare, schema, lint)
	cd test/chart && GOWORK=off $(GO) vet ./... && GOWORK=off $(GO) test -count=1 ./...

unit: chart-test
