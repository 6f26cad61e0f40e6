package runtime

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Kind names a container runtime.
type Kind string

// The container runtimes the agent configures.
const (
	Docker     Kind = "docker"
	Containerd Kind = "containerd"
)

// Target is one runtime's configuration file.
type Target struct {
	Kind Kind
	// Path is the configuration file (daemon.json or config.toml).
	Path string
	// RestartCommand restarts the runtime after a change, e.g.
	// ["systemctl", "restart", "docker"]; empty means never restart.
	RestartCommand []string
	// DropIn (containerd only) is the drop-in file the runtime is written
	// to, as the agent sees it, and DropInImport the pattern config.toml's
	// imports must hold to read it, as the host sees it
	// (/etc/containerd/conf.d/*.toml). Empty DropIn: config.toml itself is
	// rewritten (re-encoded, losing its comments).
	DropIn       string
	DropInImport string
}

// Present reports whether the runtime looks installed: its configuration
// file or the directory that would hold it exists. A runtime whose
// directory is absent is not configured, so the agent never creates
// /etc/docker on a containerd-only node.
func (t Target) Present() bool {
	if _, err := os.Stat(t.Path); err == nil {
		return true
	}
	info, err := os.Stat(filepath.Dir(t.Path))
	return err == nil && info.IsDir()
}

// Mode says whether Ensure may write.
type Mode int

const (
	// ModeCheck reads the file and plans the change; it writes nothing.
	ModeCheck Mode = iota
	// ModeApply also writes the planned change and, when enabled, restarts
	// the runtime.
	ModeApply
)

// Outcome is what Ensure found and did for one target.
type Outcome struct {
	Target Target
	// Exists is false when the file was absent (it counts as empty).
	Exists bool
	// Changed: the file needed a change (and Diff shows it).
	Changed bool
	Diff    string
	// Written: the change was written; BackupPath holds the previous
	// content when there was any.
	Written    bool
	BackupPath string
	// Restarted: the restart command ran and succeeded.
	Restarted bool
}

// Configurator applies RuntimeSpec to runtime configuration files.
type Configurator struct {
	// Spec is the runtime to install; zero fields take RuntimeSpec defaults.
	Spec RuntimeSpec
	// Runner runs restart commands; nil means ExecRunner.
	Runner Runner
	// Restart enables RestartCommand after a write; off by default because
	// restarting a runtime stops (docker, without live-restore) or
	// disconnects the containers of the node.
	Restart bool
}

// Ensure reads t's file, plans the change and, in ModeApply, writes it (a
// backup first) and restarts the runtime when enabled. A file that does not
// parse or has an unexpected shape is never written: the error wraps
// ErrUnparsable, ErrUnexpectedShape or ErrUnsupportedVersion, and the
// Outcome says what was found.
func (c *Configurator) Ensure(ctx context.Context, t Target, mode Mode) (Outcome, error) {
	out := Outcome{Target: t}
	old, perm, exists, err := readConfig(t.Path)
	if err != nil {
		return out, err
	}
	out.Exists = exists
	if t.Kind == Containerd && t.DropIn != "" {
		return c.ensureDropIn(ctx, t, mode, out, old, perm)
	}
	var planned []byte
	switch t.Kind {
	case Docker:
		planned, out.Changed, err = PlanDocker(old, c.Spec)
	case Containerd:
		planned, out.Changed, err = PlanContainerd(old, c.Spec)
	default:
		return out, fmt.Errorf("unknown container runtime %q, want %q or %q", t.Kind, Docker, Containerd)
	}
	if err != nil {
		return out, fmt.Errorf("%s: %w", t.Path, err)
	}
	if !out.Changed {
		return out, nil
	}
	out.Diff = UnifiedDiff(t.Path, t.Path+" (gpuplane)", old, planned)
	if mode != ModeApply {
		return out, nil
	}
	if exists {
		out.BackupPath = t.Path + BackupSuffix
		if err := writeFileAtomic(out.BackupPath, old, perm); err != nil {
			return out, fmt.Errorf("keeping a backup before changing %q: %w", t.Path, err)
		}
	}
	if err := writeFileAtomic(t.Path, planned, perm); err != nil {
		return out, err
	}
	out.Written = true
	return c.restart(ctx, t, out)
}

// ensureDropIn is Ensure for containerd with a drop-in: the runtime goes
// into t.DropIn, and config.toml gains at most its imports line.
func (c *Configurator) ensureDropIn(ctx context.Context, t Target, mode Mode, out Outcome, old []byte, perm fs.FileMode) (Outcome, error) {
	oldDropIn, dropInPerm, _, err := readConfig(t.DropIn)
	if err != nil {
		return out, err
	}
	p, err := PlanContainerdDropIn(old, oldDropIn, c.Spec, t.DropInImport)
	if err != nil {
		return out, fmt.Errorf("%s: %w", t.Path, err)
	}
	out.Changed = p.ConfigChanged || p.DropInChanged
	if !out.Changed {
		return out, nil
	}
	if p.DropInChanged {
		out.Diff += UnifiedDiff(t.DropIn, t.DropIn+" (gpuplane)", oldDropIn, p.DropIn)
	}
	if p.ConfigChanged {
		out.Diff += UnifiedDiff(t.Path, t.Path+" (gpuplane)", old, p.Config)
	}
	if mode != ModeApply {
		return out, nil
	}
	// The drop-in first: config.toml then never imports a file not there.
	if p.DropInChanged {
		if err := os.MkdirAll(filepath.Dir(t.DropIn), 0o755); err != nil {
			return out, fmt.Errorf("creating the drop-in directory of %q: %w", t.DropIn, err)
		}
		if err := writeFileAtomic(t.DropIn, p.DropIn, dropInPerm); err != nil {
			return out, err
		}
	}
	if p.ConfigChanged {
		if out.Exists {
			out.BackupPath = t.Path + BackupSuffix
			if err := writeFileAtomic(out.BackupPath, old, perm); err != nil {
				return out, fmt.Errorf("keeping a backup before changing %q: %w", t.Path, err)
			}
		}
		if err := writeFileAtomic(t.Path, p.Config, perm); err != nil {
			return out, err
		}
	}
	out.Written = true
	return c.restart(ctx, t, out)
}

// restart runs the target's restart command after a write, when enabled.
func (c *Configurator) restart(ctx context.Context, t Target, out Outcome) (Outcome, error) {
	if !c.Restart || len(t.RestartCommand) == 0 {
		return out, nil
	}
	runner := c.Runner
	if runner == nil {
		runner = ExecRunner{}
	}
	if _, err := runner.Run(ctx, t.RestartCommand); err != nil {
		return out, fmt.Errorf("%w: restarting %s after changing %q: %w", ErrRestartFailed, t.Kind, t.Path, err)
	}
	out.Restarted = true
	return out, nil
}

// SplitCommand splits a restart command written as one flag value into its
// words; quoting is not interpreted, since restart commands need none.
func SplitCommand(s string) []string { return strings.Fields(s) }
