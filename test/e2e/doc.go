// Package e2e holds end-to-end tests that run gpuplane against a real local control
// plane (package test/cluster). The tests carry the build tag e2e, so a plain
// `go test` of the repository leaves them out; `make test` runs them with -tags e2e
// after building the control-plane programs.
//
// It imports test/cluster and the packages under test; nothing imports it.
package e2e
