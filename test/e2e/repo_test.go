//go:build e2e

package e2e

import (
	"testing"

	"github.com/gpuplane/gpuplane/test/cluster"
)

// repoRoot is the repository root, found from the test's directory: the
// deploy files, bin/ and the programs' sources are read from there.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := cluster.WorkingRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
