package nodeagent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
)

// RunCheck runs one pass without the API server and prints the checklist
// to deps.Out; it reports whether every checked step is ready. The runtime
// files are fixed only with opts.ApplyRuntime; the diff of a file that
// needs a change is printed after the checklist.
func RunCheck(ctx context.Context, opts Options, deps Deps) (bool, error) {
	opts = opts.Default()
	if err := opts.Validate(false); err != nil {
		return false, err
	}
	deps = deps.withDefaults(opts)
	out := deps.Out
	var diffs bytes.Buffer
	deps.Out = &diffs
	hint := "`nodeagent check --apply` writes it"
	if opts.DryRun {
		hint = "dry run: the diff is below, nothing written"
	}
	p, err := build(opts, deps, hint)
	if err != nil {
		return false, err
	}
	defer p.discoverer.Close()
	rep := p.checklist.Run(ctx, nil)
	if err := printChecklist(out, rep); err != nil {
		return false, err
	}
	if diffs.Len() > 0 {
		if _, err := fmt.Fprintf(out, "\nChanges the runtime files need:\n%s", diffs.String()); err != nil {
			return false, err
		}
	}
	return rep.Ready(), nil
}

// printChecklist writes one line per step and a verdict line.
func printChecklist(w io.Writer, rep Report) error {
	var b strings.Builder
	width := 0
	for _, s := range rep.Steps {
		width = max(width, len(s.Step))
	}
	checked, failing := 0, 0
	for _, s := range rep.Steps {
		mark := map[Verdict]string{Ready: " ok ", NotReady: "FAIL", Unknown: " ?? ", Skipped: "skip"}[s.Verdict]
		fmt.Fprintf(&b, "[%s] %-*s  %s: %s\n", mark, width, s.Step, s.Reason, s.Message)
		if s.Verdict != Skipped {
			checked++
			if s.Verdict != Ready {
				failing++
			}
		}
	}
	if failing == 0 {
		fmt.Fprintf(&b, "verdict: ready (%d steps checked)\n", checked)
	} else {
		fmt.Fprintf(&b, "verdict: not ready (%d of %d checked steps need attention)\n", failing, checked)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
