package cluster

import (
	"context"
	"errors"
	"os"
	"testing"
)

// EnvSkipMissing names the environment variable that, set to "1", makes New skip a test
// instead of failing it when the control-plane programs are not built.
const EnvSkipMissing = "GPUPLANE_E2E_SKIP_MISSING"

// New starts a cluster for the test and stops it when the test ends, showing the end of
// every program's log first if the test failed. Missing programs fail the test with how
// to build them, or skip it when GPUPLANE_E2E_SKIP_MISSING=1.
func New(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c, err := Start(context.Background(), opts)
	if errors.Is(err, ErrBinariesMissing) && os.Getenv(EnvSkipMissing) == "1" {
		t.Skipf("%v (%s=1)", err, EnvSkipMissing)
	}
	if err != nil {
		t.Fatalf("starting the control plane: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("control plane logs:\n%s", c.LogTails())
		}
		if err := c.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	return c
}
