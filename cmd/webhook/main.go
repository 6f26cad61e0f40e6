// Command webhook is gpuplane's admission webhook: it turns the gpuplane.io/gpu
// shorthand of a pod into resources, node affinity and tolerations, and refuses bad
// requests in workload templates when they are submitted. `webhook explain` tells
// what it would do with a request.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gpuplane/gpuplane/cmd/webhook/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], app.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, app.Serve)
	stop()
	os.Exit(code)
}
