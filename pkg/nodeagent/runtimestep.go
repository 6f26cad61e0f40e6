package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gpuplane/gpuplane/pkg/nodeagent/runtime"
)

// RuntimeConfig says which runtime files the runtime step looks at and what
// it may do to them.
type RuntimeConfig struct {
	// Targets are the configuration files; with Detect, only those whose
	// file or directory exists are used.
	Targets []runtime.Target
	// Detect: pick the present Targets (the default); otherwise every
	// target is used, and a missing directory is reported.
	Detect bool
	// Spec is the runtime to install.
	Spec runtime.RuntimeSpec
	// SearchPaths are where the runtime binary is looked for when Spec.Path
	// is a bare name.
	SearchPaths []string
	// HostRoot is where the host's file system is seen ("/" on the host, the
	// DaemonSet's mount otherwise); the binary is looked for under it.
	HostRoot string
	// Mode: ModeApply writes, ModeCheck only plans (check without --apply,
	// --dry-run, --configure-runtime=false).
	Mode runtime.Mode
	// FixHint ends the message of a file that needs a change in ModeCheck.
	FixHint string
	// Diffs receives the diff of each file that needs a change and is not
	// written; nil discards them.
	Diffs io.Writer
}

// runtimeStep configures and judges the container runtimes. It remembers
// across passes the files it wrote without restarting the runtime: the
// running runtime has not loaded them yet.
type runtimeStep struct {
	cfg          RuntimeConfig
	configurator *runtime.Configurator
	observe      func(runtime string, wrote, restartTried, restarted bool)

	mu       sync.Mutex
	pending  map[string]bool   // path -> written, runtime not restarted
	notes    map[string]string // path -> what the agent last did to it
	lastDiff map[string]string // path -> last diff written to Diffs
}

func newRuntimeStep(cfg RuntimeConfig, c *runtime.Configurator, observe func(string, bool, bool, bool)) *runtimeStep {
	if observe == nil {
		observe = func(string, bool, bool, bool) {}
	}
	return &runtimeStep{cfg: cfg, configurator: c, observe: observe, pending: map[string]bool{}, notes: map[string]string{}, lastDiff: map[string]string{}}
}

// targetResult is one file's verdict.
type targetResult struct {
	verdict Verdict
	reason  string
	message string
	// transient: worth retrying soon (a write or restart failed).
	transient bool
}

// run checks (and in ModeApply fixes) every target. The second result is
// true when a failure may pass by itself, so the agent retries sooner.
func (s *runtimeStep) run(ctx context.Context) (StepResult, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := StepResult{Step: StepRuntime}
	targets := s.targets()
	if len(targets) == 0 {
		var paths []string
		for _, t := range s.cfg.Targets {
			paths = append(paths, t.Path)
		}
		r.Verdict, r.Reason = NotReady, "NoContainerRuntime"
		r.Message = fmt.Sprintf("no container runtime found: none of %s (nor its directory) exists; name the file with --docker-config or --containerd-config", strings.Join(paths, ", "))
		return r, false
	}

	var msgs []string
	mode := s.cfg.Mode
	spec := s.cfg.Spec.Default()
	bin, binErr := s.findBinary(spec.Path)
	if binErr != nil {
		// Making a missing binary the default runtime would break every
		// container the runtime starts, so nothing is written.
		mode = runtime.ModeCheck
		r.Verdict, r.Reason = NotReady, "RuntimeBinaryMissing"
		msgs = append(msgs, binErr.Error()+"; runtime files are not changed until it is installed")
	} else {
		msgs = append(msgs, fmt.Sprintf("%s at %s", filepath.Base(spec.Path), bin))
	}
	transient := false
	for _, t := range targets {
		tr := s.runTarget(ctx, t, mode)
		msgs = append(msgs, fmt.Sprintf("%s: %s", t.Kind, tr.message))
		transient = transient || tr.transient
		if tr.verdict != Ready && r.Verdict == "" {
			r.Verdict, r.Reason = tr.verdict, tr.reason
		}
	}
	if r.Verdict == "" {
		r.Verdict, r.Reason = Ready, "RuntimeConfigured"
	}
	r.Message = strings.Join(msgs, "; ")
	return r, transient
}

func (s *runtimeStep) targets() []runtime.Target {
	if !s.cfg.Detect {
		return s.cfg.Targets
	}
	var out []runtime.Target
	for _, t := range s.cfg.Targets {
		if t.Present() {
			out = append(out, t)
		}
	}
	return out
}

func (s *runtimeStep) findBinary(path string) (string, error) {
	if filepath.IsAbs(path) {
		return runtime.FindBinary(hostPath(s.cfg.HostRoot, path), nil)
	}
	dirs := make([]string, len(s.cfg.SearchPaths))
	for i, d := range s.cfg.SearchPaths {
		dirs[i] = hostPath(s.cfg.HostRoot, d)
	}
	return runtime.FindBinary(path, dirs)
}

func (s *runtimeStep) runTarget(ctx context.Context, t runtime.Target, mode runtime.Mode) targetResult {
	if !s.cfg.Detect && !t.Present() {
		return targetResult{verdict: NotReady, reason: "NoContainerRuntime",
			message: fmt.Sprintf("%s does not exist: is %s installed?", filepath.Dir(t.Path), t.Kind)}
	}
	out, err := s.configurator.Ensure(ctx, t, mode)
	if out.Written {
		s.pending[t.Path] = true
		s.notes[t.Path] = "updated by the agent" + backupNote(out)
	}
	restartTried := out.Written && s.configurator.Restart && len(t.RestartCommand) > 0
	if out.Restarted {
		delete(s.pending, t.Path)
		s.notes[t.Path] += ", " + string(t.Kind) + " restarted"
	}
	s.observe(string(t.Kind), out.Written, restartTried, out.Restarted)
	if err != nil {
		return targetError(t, out, err)
	}
	if out.Changed && !out.Written {
		delete(s.notes, t.Path)
		s.writeDiff(t.Path, out.Diff)
		msg := fmt.Sprintf("%s does not make %s the default runtime", t.Path, s.cfg.Spec.Default().Name)
		if s.cfg.FixHint != "" {
			msg += "; " + s.cfg.FixHint
		}
		return targetResult{verdict: NotReady, reason: "ConfigNeedsChange", message: msg}
	}
	delete(s.lastDiff, t.Path)
	// Messages describe the state, with what the agent did to reach it kept
	// as a note, so that they stay the same from pass to pass and a pass
	// that finds nothing new has nothing to patch.
	state := fmt.Sprintf("%s makes %s the default runtime", t.Path, s.cfg.Spec.Default().Name)
	if note := s.notes[t.Path]; note != "" {
		state += " (" + note + ")"
	}
	if s.pending[t.Path] {
		return targetResult{verdict: NotReady, reason: "RestartNeeded",
			message: fmt.Sprintf("%s; restart %s to load it (or let the agent do it: --restart-runtime)", state, t.Kind)}
	}
	return targetResult{verdict: Ready, message: state}
}

func targetError(t runtime.Target, out runtime.Outcome, err error) targetResult {
	switch {
	case errors.Is(err, runtime.ErrUnparsable):
		return targetResult{verdict: NotReady, reason: "ConfigUnparsable",
			message: fmt.Sprintf("left untouched because it does not parse: %v; fix or remove it", err)}
	case errors.Is(err, runtime.ErrUnexpectedShape):
		return targetResult{verdict: NotReady, reason: "ConfigUnexpected",
			message: fmt.Sprintf("left untouched: %v", err)}
	case errors.Is(err, runtime.ErrUnsupportedVersion):
		return targetResult{verdict: NotReady, reason: "ConfigUnsupported",
			message: fmt.Sprintf("left untouched: %v", err)}
	case errors.Is(err, runtime.ErrRestartFailed):
		return targetResult{verdict: NotReady, reason: "RestartFailed", transient: true,
			message: fmt.Sprintf("%s updated%s but %v", t.Path, backupNote(out), err)}
	}
	return targetResult{verdict: NotReady, reason: "ConfigWriteFailed", transient: true, message: err.Error()}
}

func backupNote(out runtime.Outcome) string {
	if out.BackupPath == "" {
		return ""
	}
	return " (previous content in " + out.BackupPath + ")"
}

// writeDiff writes a file's diff once, not on every pass while it stays
// the same.
func (s *runtimeStep) writeDiff(path, diff string) {
	if s.cfg.Diffs == nil || s.lastDiff[path] == diff {
		return
	}
	s.lastDiff[path] = diff
	_, _ = io.WriteString(s.cfg.Diffs, diff)
}
