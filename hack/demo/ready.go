package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
	"github.com/gpuplane/gpuplane/test/cluster"
)

// Bounds of the waits: a busy 2-core machine may be slow, a healthy one is ready in
// seconds.
const (
	readyLimit   = 90 * time.Second
	pollInterval = 100 * time.Millisecond
)

// waitNodes waits until every agent has labelled its node and written its cards.
func (e *env) waitNodes(ctx context.Context, agents []*cluster.Process) error {
	err := e.poll(ctx, "the node agents", agents, func(ctx context.Context) (bool, string) {
		for _, n := range demoNodes() {
			node, err := e.client.CoreV1().Nodes().Get(ctx, n.name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			if node.Labels[e.cat.Labels.GPUType] != n.typ || node.Annotations[api.AnnotationDevices] == "" {
				return false, fmt.Sprintf("node %s has no %s=%s label or %s annotation yet", n.name, e.cat.Labels.GPUType, n.typ, api.AnnotationDevices)
			}
			if n.pool != "" && (node.Labels[catalog.PoolLabel] != n.pool || node.Labels[catalog.SharingLabel] == "") {
				return false, fmt.Sprintf("node %s has no %s=%s or %s label yet", n.name, catalog.PoolLabel, n.pool, catalog.SharingLabel)
			}
		}
		return true, ""
	})
	if err == nil {
		var vgpu, pools, mig []string
		for _, n := range demoNodes() {
			if len(n.mig) > 0 {
				mig = append(mig, n.name)
			}
			if n.vgpu {
				vgpu = append(vgpu, n.name)
			}
			if n.pool != "" {
				pools = append(pools, n.name)
			}
		}
		e.logf("node agents (--fake-devices instead of NVML): every node labelled %s=true, %s=<type> (%s=true on %s; %s and %s, from --pool and the catalog, on %s), cards in %s (MIG instances on %s)",
			e.cat.Labels.GPU, e.cat.Labels.GPUType, e.cat.Labels.VGPU, strings.Join(vgpu, ", "), catalog.PoolLabel, catalog.SharingLabel,
			strings.Join(pools, ", "), api.AnnotationDevices, strings.Join(mig, ", "))
	}
	return err
}

// waitWebhook waits until the API server calls the webhook successfully: a dry-run
// pod with a GPU request passes through it once the caBundle is written and the API
// server has picked it up.
func (e *env) waitWebhook(ctx context.Context, p *cluster.Process, base string) error {
	probe := newPod("webhook-probe", request{gpu: "1"})
	err := e.poll(ctx, "the webhook", []*cluster.Process{p}, func(ctx context.Context) (bool, string) {
		_, err := e.client.CoreV1().Pods(demoNamespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if err == nil {
		e.logf("webhook (--self-signed): %s and %s registered, service %s/gpuplane-webhook replaced by %s",
			e.webhookConfigs[0].Path, e.webhookConfigs[1].Path, systemNamespace, base)
	}
	return err
}

// waitExtender waits until the extender is ready and its state holds every node's
// cards as the node agents described them (with their UUIDs), so that no request
// meets an extender that has not yet seen a node's devices.
func (e *env) waitExtender(ctx context.Context, p *cluster.Process, addr string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	err := e.poll(ctx, "the extender", []*cluster.Process{p}, func(ctx context.Context) (bool, string) {
		if _, err := httpGet(ctx, client, "http://"+addr+"/readyz"); err != nil {
			return false, err.Error()
		}
		body, err := httpGet(ctx, client, "http://"+addr+"/state")
		if err != nil {
			return false, err.Error()
		}
		var state struct {
			Nodes []extenderNode `json:"nodes"`
		}
		if err := json.Unmarshal(body, &state); err != nil {
			return false, fmt.Sprintf("/state: %v", err)
		}
		for _, n := range demoNodes() {
			i := slices.IndexFunc(state.Nodes, func(v extenderNode) bool {
				return v.Name == n.name
			})
			if i < 0 || len(state.Nodes[i].Cards) != n.cards || state.Nodes[i].Cards[0].UUID == "" {
				return false, fmt.Sprintf("/state does not show the %d cards of %s yet: %s", n.cards, n.name, body)
			}
		}
		return true, ""
	})
	if err == nil {
		e.logf("extender: ready on %s, the cards of every node in its state", addr)
	}
	return err
}

// extenderNode is a node of the extender's GET /state, as far as the demo reads it.
type extenderNode struct {
	Name  string `json:"name"`
	Cards []struct {
		UUID string `json:"uuid"`
	} `json:"cards"`
}

// httpGet returns the body of a 200 answer to GET url.
func httpGet(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s %s", url, resp.Status, body)
	}
	return body, nil
}

// poll calls ready until it says so, one of procs exits, ctx ends or readyLimit
// passes; the error then carries ready's last word or the program's log.
func (e *env) poll(ctx context.Context, what string, procs []*cluster.Process, ready func(context.Context) (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, readyLimit)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		for _, p := range procs {
			if err := failed(p); err != nil {
				return err
			}
		}
		ok, detail := ready(ctx)
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (%w): %s", what, time.Since(e.began).Round(time.Second), ctx.Err(), detail)
		case <-tick.C:
		}
	}
}
