// Command extender is gpuplane's scheduler extender (serve, the default) and
// its trace replay (`extender simulate ...`, see pkg/sim).
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/gpuplane/gpuplane/pkg/sim"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "simulate" {
		if err := sim.RunSimulate(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "simulate:", err)
			if errors.Is(err, sim.ErrUsage) {
				os.Exit(2)
			}
			os.Exit(1)
		}
		return
	}
	os.Exit(serveMain(os.Args[1:]))
}
