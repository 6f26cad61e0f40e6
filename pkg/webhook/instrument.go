package webhook

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// handled runs one request's handling: it times it, records it in metrics (nil
// records nothing) and turns a panic into a 500 answer, so that one bad object never
// takes the webhook down and the panic is counted like any other failure. handle
// returns the answer and, for a refusal or failure, its reason.
func handled(ctx context.Context, path string, metrics *Metrics, handle func() (admission.Response, string)) (resp admission.Response) {
	start := time.Now()
	reason := ""
	defer func() {
		if r := recover(); r != nil {
			klog.FromContext(ctx).Error(nil, "Panic while handling an admission request", "path", path,
				"panic", r, "stack", string(debug.Stack()))
			resp = admission.Errored(http.StatusInternalServerError, fmt.Errorf("internal error in the gpuplane webhook: %v", r))
			reason = "panic"
		}
		metrics.observe(path, resp, reason, time.Since(start))
	}()
	resp, reason = handle()
	return resp
}
