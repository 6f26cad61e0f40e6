package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStartOnFreePorts starts a stand-in program that fails as etcd, kube-apiserver
// and kube-scheduler do on a taken port (or otherwise) and checks which failures are
// retried on fresh ports, how often, and that each start's log is its own.
func TestStartOnFreePorts(t *testing.T) {
	const inUse = "listen tcp 127.0.0.1:4001: bind: address already in use"
	cases := []struct {
		name      string
		outputs   []string // what each start prints before it exits 1; "" starts one that works
		wantStart int
		wantErr   bool
	}{
		{name: "ready at once", outputs: []string{""}, wantStart: 1},
		{name: "port taken once", outputs: []string{inUse, ""}, wantStart: 2},
		{name: "port taken every time", outputs: []string{inUse, inUse, inUse, ""}, wantStart: portAttempts, wantErr: true},
		{name: "another failure", outputs: []string{"flag provided but not defined: -x", ""}, wantStart: 1, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			logPath := filepath.Join(dir, "program.log")
			var kept []*Process
			starts := 0
			err := startOnFreePorts(context.Background(), "stand-in", 2, func(p *Process) { kept = append(kept, p) }, func(ports []int) (*Process, error) {
				if len(ports) != 2 || ports[0] == ports[1] {
					t.Errorf("ports %v, want two distinct ones", ports)
				}
				out := tc.outputs[starts]
				starts++
				if log, err := os.ReadFile(logPath); err == nil && len(log) > 0 {
					t.Errorf("start %d finds the log of an earlier start: %q", starts, log)
				}
				script := "sleep 60"
				if out != "" {
					script = fmt.Sprintf("echo '%s'; exit 1", out)
				}
				p, err := StartProcess("stand-in", "/bin/sh", []string{"-c", script}, logPath)
				if err != nil {
					return nil, err
				}
				t.Cleanup(func() { p.Stop(time.Second) })
				if out == "" {
					return p, nil
				}
				<-p.Exited()
				return p, errors.New("exited before it was ready")
			})
			if (err != nil) != tc.wantErr {
				t.Errorf("startOnFreePorts = %v, want an error %v", err, tc.wantErr)
			}
			if starts != tc.wantStart || len(kept) != starts {
				t.Errorf("%d starts, %d processes kept; want %d", starts, len(kept), tc.wantStart)
			}
		})
	}
}
