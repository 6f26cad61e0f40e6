package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// BackupSuffix is appended to a configuration file's name for the copy of
// its content before the agent's last change.
const BackupSuffix = ".gpuplane.bak"

// newFileMode is the mode of a configuration file the agent creates.
const newFileMode fs.FileMode = 0o644

// readConfig returns the file's content and mode; a missing file is empty
// with exists false.
func readConfig(path string) (content []byte, mode fs.FileMode, exists bool, err error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, newFileMode, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("reading %q: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, 0, false, fmt.Errorf("%w: %q is not a regular file", ErrUnexpectedShape, path)
	}
	content, err = os.ReadFile(path)
	if err != nil {
		return nil, 0, false, fmt.Errorf("reading %q: %w", path, err)
	}
	return content, info.Mode().Perm(), true, nil
}

// writeFileAtomic replaces path with data so that a reader (or a crash) sees
// either the old or the new content, never a mix: a temporary file in the
// same directory is written, synced and renamed over path, and the
// directory is synced so the rename survives a power cut.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %q: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("syncing directory %q: %w", dir, err)
	}
	return nil
}
