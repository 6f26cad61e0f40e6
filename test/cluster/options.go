package cluster

import (
	"os"
	"time"
)

// Options say how to start a cluster. The zero value is ready to use; Default fills in
// every field left empty.
type Options struct {
	// BinDir holds etcd, kube-apiserver and kube-scheduler.
	// Default: the result of BinDir() ($GPUPLANE_BIN_DIR, or bin/ at the repository root).
	BinDir string

	// TempDir is where the cluster's own directory (certificates, etcd data, kubeconfigs,
	// logs) is created; Stop removes that directory.
	// Default: os.TempDir().
	TempDir string

	// StartTimeout bounds how long each program may take to become ready.
	// Default: 90s, generous because a 2-core CI machine may be busy compiling.
	StartTimeout time.Duration

	// StopGrace is how long a program may take to exit after SIGTERM before it is killed.
	// Default: 10s.
	StopGrace time.Duration

	// APIServerArgs are appended to the API server's command line; a flag given here
	// wins over the same flag set by the harness, as the last occurrence counts.
	// Default: none.
	APIServerArgs []string

	// Now is the clock the certificates are dated by.
	// Default: time.Now.
	Now func() time.Time
}

const (
	defaultStartTimeout = 90 * time.Second
	defaultStopGrace    = 10 * time.Second
)

// Default returns the options with every empty field set to its default.
func (o Options) Default() (Options, error) {
	if o.BinDir == "" {
		dir, err := BinDir()
		if err != nil {
			return o, err
		}
		o.BinDir = dir
	} else if err := checkPrograms(o.BinDir); err != nil {
		return o, err
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = defaultStartTimeout
	}
	if o.StopGrace <= 0 {
		o.StopGrace = defaultStopGrace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}
