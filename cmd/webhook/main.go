// Command webhook is gpuplane's admission webhook: it turns the gpuplane.io/gpu
// shorthand of a pod into resources, node affinity and tolerations, and refuses bad
// requests in workload templates when they are submitted. `webhook explain` tells
// what it would do with a request.
package main

import (
	"github.com/gpuplane/gpuplane/cmd/webhook/app"
	"github.com/gpuplane/gpuplane/internal/program"
)

func main() {
	program.Main(app.NewCommand(program.WithLogging(app.Serve)))
}
