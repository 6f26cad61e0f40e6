package perf

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
)

// runGo runs the go command with args, copying its output to w as it comes,
// and returns the output.
func runGo(ctx context.Context, goCmd string, args []string, w io.Writer) (string, error) {
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Stdout = io.MultiWriter(&buf, w)
	cmd.Stderr = io.MultiWriter(&buf, os.Stderr)
	err := cmd.Run()
	return buf.String(), err
}
