//go:build e2e

package e2e

import (
	"net"
	"os"
	"testing"

	"github.com/gpuplane/gpuplane/test/cluster"
)

// repoRoot is the repository root, found from the test's directory: the
// deploy files, bin/ and the programs' sources are read from there.
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := cluster.RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// freePort is a TCP port of 127.0.0.1 that was free a moment ago, for a
// program that takes its port as a flag.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
