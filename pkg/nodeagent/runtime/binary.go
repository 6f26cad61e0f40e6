package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultSearchPaths are where the NVIDIA container toolkit installs its
// runtime: distribution packages, a manual install, and the GPU operator's
// toolkit directory.
func DefaultSearchPaths() []string {
	return []string{"/usr/bin", "/usr/local/bin", "/usr/local/nvidia/toolkit"}
}

// FindBinary returns where the runtime binary name is: name itself when it
// is a path, otherwise the first executable name in dirs. On a DaemonSet
// the dirs are the host's, seen through its mount (e.g. /host/usr/bin).
func FindBinary(name string, dirs []string) (string, error) {
	if strings.ContainsRune(name, '/') {
		if isExecutable(name) {
			return name, nil
		}
		return "", fmt.Errorf("%w: %q is not an executable file", ErrBinaryMissing, name)
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %q is in none of %s; install the NVIDIA container toolkit or name its directory with --runtime-search-path",
		ErrBinaryMissing, name, strings.Join(dirs, ", "))
}

func isExecutable(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}
