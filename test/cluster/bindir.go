package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EnvBinDir names the environment variable that overrides where the control-plane
// programs are looked for.
const EnvBinDir = "GPUPLANE_BIN_DIR"

// modulePath identifies the repository root: the first directory upwards holding a
// go.mod that declares it.
const modulePath = "github.com/gpuplane/gpuplane"

// programs lists the programs a cluster runs, as named in the bin directory.
func programs() []string { return []string{"etcd", "kube-apiserver", "kube-scheduler"} }

// ErrBinariesMissing says the control-plane programs have not been built.
var ErrBinariesMissing = errors.New("control-plane programs missing")

// RepoRoot returns the directory holding the gpuplane go.mod, searching upwards from dir.
func RepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("finding the repository root from %q: %w", dir, err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if declaresModule(filepath.Join(d, "go.mod")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod declaring module %s in %q or above", modulePath, dir)
		}
	}
}

// WorkingRepoRoot returns the repository root found from the working
// directory: where tests, the demo and the harness read deploy files and bin/.
func WorkingRepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	return RepoRoot(wd)
}

func declaresModule(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}

// BinDir returns the directory holding the control-plane programs: $GPUPLANE_BIN_DIR
// when set, otherwise bin/ under the repository root found from the working directory.
// It fails with ErrBinariesMissing when any program is absent.
func BinDir() (string, error) {
	dir := os.Getenv(EnvBinDir)
	if dir == "" {
		root, err := WorkingRepoRoot()
		if err != nil {
			return "", fmt.Errorf("finding the bin directory (or set %s): %w", EnvBinDir, err)
		}
		dir = filepath.Join(root, "bin")
	}
	return dir, checkPrograms(dir)
}

func checkPrograms(dir string) error {
	var missing []string
	for _, p := range programs() {
		info, err := os.Stat(filepath.Join(dir, p))
		if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s not found as executables in %q; `make tools` builds them (or set %s)",
			ErrBinariesMissing, strings.Join(missing, ", "), dir, EnvBinDir)
	}
	return nil
}
