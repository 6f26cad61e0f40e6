// Command extender is gpuplane's scheduler extender (serve, the default) and
// its trace replay (`extender simulate ...`, see pkg/sim).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gpuplane/gpuplane/cmd/extender/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], app.Streams{Out: os.Stdout, Err: os.Stderr}, app.Run)
	stop()
	os.Exit(code)
}
