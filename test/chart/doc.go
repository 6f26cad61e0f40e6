// Package chart tests the Helm chart charts/gpuplane against the kustomize tree in
// deploy/, its one source of truth: for the default values and the values
// equivalent to each overlay, the chart must render the same objects kustomize
// does, field for field. It is a module of its own so that the Helm SDK and the
// kustomize library stay out of gpuplane's module; `make chart-test` runs it (and
// `make unit`, so `make test`, includes that). Its e2e test (build tag e2e, `make
// chart-e2e`) dry-runs the rendered objects on gpuplane's local control plane.
package chart
