package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/load/loadtest"
)

func TestRunServesUntilCancelled(t *testing.T) {
	prom := loadtest.Start()
	t.Cleanup(prom.Close)
	client := fake.NewClientset(vgpuNode(t, "v"), sharePod("p"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	probeLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	probeAddr := probeLn.Addr().String()
	probeLn.Close()
	o := DefaultOptions()
	o.Load.URL = prom.URL
	o.ProbeBindAddress = probeAddr
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), testLogger(t)))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o, Deps{Client: client, Listener: ln}) }()

	base := "http://" + ln.Addr().String()
	var lastErr error
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		resp, err := http.Get(base + "/readyz")
		if lastErr = err; err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == 200, nil
	}); err != nil {
		t.Fatalf("not ready in time: %v (last GET: %v)", err, lastErr)
	}
	if resp, err := http.Get("http://" + probeAddr + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("probe port: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	names := []string{"v"}
	body, _ := json.Marshal(extenderv1.ExtenderArgs{Pod: sharePod("p"), NodeNames: &names})
	resp, err := http.Post(base+"/filter", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(out), `"NodeNames":["v"]`) {
		t.Fatalf("filter: %d %s", resp.StatusCode, out)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	out, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"gpuplane_extender_nodes 1", "gpuplane_extender_load_refreshes_total", "go_goroutines"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v after cancel, want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still serving after Run returned")
	}
}

func TestOptions(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
		o    func(*Options) bool
	}{
		{name: "defaults", o: func(o *Options) bool {
			return o.Listen == ":8888" && o.Policy == "auto" && o.Load.Interval == 30*time.Second && o.Load.NodeLabel == "Hostname" && o.Load.URL == ""
		}},
		{name: "flags", args: []string{"--listen=127.0.0.1:9999", "--policy=binpack", "--prometheus-url=http://prom:9090", "--load-interval=10s", "--load-node-label=node", "--catalog=c.yaml"},
			o: func(o *Options) bool {
				return o.Listen == "127.0.0.1:9999" && o.Policy == "binpack" && o.Load.URL == "http://prom:9090" &&
					o.Load.Interval == 10*time.Second && o.Load.NodeLabel == "node" && o.Catalog == "c.yaml"
			}},
		{name: "fgd learns its mix", args: []string{"--policy=fgd"}, o: func(o *Options) bool { return o.Policy == "fgd" }},
		{name: "unknown policy", args: []string{"--policy=random"}, want: `--policy "random": want one of binpack, spread, bestfit, fgd, auto`},
		{name: "bad load label", args: []string{"--prometheus-url=http://p", "--load-uuid-label=a-b"}, want: `UUID label "a-b"`},
		{name: "bad label ignored without Prometheus", args: []string{"--load-uuid-label=a-b"}, o: func(*Options) bool { return true }},
		{name: "tiny ttl", args: []string{"--assume-ttl=1ms"}, want: "--assume-ttl 1ms"},
		{name: "empty listen", args: []string{"--listen="}, want: "--listen is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			if tc.want != "" {
				if !errors.Is(err, ErrOptions) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Validate = %v, want ErrOptions mentioning %q", err, tc.want)
				}
				return
			}
			if err != nil || !tc.o(&o) {
				t.Fatalf("options %+v, err %v", o, err)
			}
		})
	}
}

func TestRunRefusesABadCatalog(t *testing.T) {
	o := DefaultOptions()
	o.Catalog = filepath.Join(t.TempDir(), "missing.yaml")
	err := Run(context.Background(), o, Deps{Client: fake.NewClientset()})
	if err == nil || !strings.Contains(err.Error(), "catalog") {
		t.Fatalf("Run with a missing catalog = %v", err)
	}
}

// vgpuNode is a node with two T4 cards handed out by the vGPU manager, as
// the node agent describes it.
func vgpuNode(t *testing.T, name string) *corev1.Node {
	t.Helper()
	devices, err := api.EncodeDevices(api.Devices{
		{Index: 0, UUID: "GPU-" + name + "-0", Type: "T4", MemoryMiB: 16384},
		{Index: 1, UUID: "GPU-" + name + "-1", Type: "T4", MemoryMiB: 16384},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"gpu": "true", "vgpu": "true", "gpu-type": "T4"},
			Annotations: map[string]string{api.AnnotationDevices: devices}},
		Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("512Gi"),
			"tencent.com/vcuda-core": resource.MustParse("200"),
		}},
	}
}

// sharePod is a pending pod asking for half a card through the vGPU manager.
func sharePod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{"tencent.com/vcuda-core": resource.MustParse("50")},
		}}}},
	}
}

func testLogger(t *testing.T) klog.Logger {
	logger, _ := ktesting.NewTestContext(t)
	return logger
}

// TestRunWithoutPrometheusSaysLoadIsAbsent: without --prometheus-url the
// metrics say there is no load data, as they do while it is stale.
func TestRunWithoutPrometheusSaysLoadIsAbsent(t *testing.T) {
	reg := prometheus.NewRegistry()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), testLogger(t)))
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, DefaultOptions(), Deps{Client: fake.NewClientset(), Listener: ln, Registry: reg})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		families, err := reg.Gather()
		if err != nil {
			return false, err
		}
		for _, f := range families {
			if f.GetName() == "gpuplane_extender_load_stale" {
				if v := f.GetMetric()[0].GetGauge().GetValue(); v != 1 {
					return false, fmt.Errorf("gpuplane_extender_load_stale = %v without Prometheus, want 1", v)
				}
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("gpuplane_extender_load_stale without Prometheus: %v", err)
	}
}
