// Command extender is gpuplane's scheduler extender (serve, the default) and
// its trace replay (`extender simulate ...`, see pkg/sim).
package main

import (
	"github.com/gpuplane/gpuplane/cmd/extender/app"
	"github.com/gpuplane/gpuplane/internal/program"
)

func main() {
	program.Main(app.NewCommand(program.WithLogging(app.Serve)))
}
