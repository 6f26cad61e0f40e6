package runtime

import "errors"

// Error classes a caller can tell apart with errors.Is; each is wrapped with
// the file and the detail.
var (
	// ErrUnparsable: the file is not valid JSON or TOML. It is left untouched.
	ErrUnparsable = errors.New("configuration file does not parse")
	// ErrUnexpectedShape: the file parses, but a key the agent must edit holds
	// a value of the wrong kind (e.g. "runtimes" is not an object). It is left
	// untouched rather than overwritten.
	ErrUnexpectedShape = errors.New("configuration file has an unexpected shape")
	// ErrUnsupportedVersion: a containerd config.toml of a version other than
	// 2 or 3 (no version key means version 1).
	ErrUnsupportedVersion = errors.New("unsupported containerd configuration version")
	// ErrBinaryMissing: the NVIDIA container runtime binary was not found.
	ErrBinaryMissing = errors.New("nvidia container runtime binary not found")
	// ErrRestartFailed: the file was written but restarting the runtime failed.
	ErrRestartFailed = errors.New("container runtime restart failed")
)
