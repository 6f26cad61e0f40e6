//go:build tools

// Package keda pins KEDA's operator and metrics API server, which the autoscaling e2e test
// runs against a real control plane. It is never compiled into gpuplane; the build tag only
// makes the module graph hold these commands so that `go build` can build them. The
// replace block is KEDA's own, copied from its go.mod at the pinned version: without it the
// module graph would pick Kubernetes libraries KEDA was not built against.
package keda

import (
	_ "github.com/kedacore/keda/v2/cmd/adapter"
	_ "github.com/kedacore/keda/v2/cmd/operator"
)
