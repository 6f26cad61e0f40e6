// Command kubectl-gpuplane is the kubectl plugin of gpuplane (`kubectl
// gpuplane`): the cluster's GPU nodes, GPU pods, why a pod waits or where it
// landed, and what the webhook does with a request, read from the API server
// with kubectl's own flags. docs/kubectl.md describes it.
package main

import (
	"github.com/gpuplane/gpuplane/cmd/kubectl-gpuplane/app"
	"github.com/gpuplane/gpuplane/internal/program"
)

func main() {
	program.Main(app.NewCommand())
}
