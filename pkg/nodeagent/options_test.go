package nodeagent

import (
	"errors"
	"testing"
	"time"
)

func TestOptionsDefault(t *testing.T) {
	o := Options{}.Default()
	if o.Resync != time.Minute || o.BackoffBase != 5*time.Second || o.BackoffMax != time.Minute ||
		o.DockerConfig != "/etc/docker/daemon.json" || o.ContainerdConfig != "/etc/containerd/config.toml" ||
		o.ExporterURL != DefaultExporterURL || o.RuntimeName != "nvidia" || o.RuntimePath != "nvidia-container-runtime" ||
		len(o.RuntimeSearchPaths) == 0 || o.HostRoot != "/" || o.DevicePluginDir != "/var/lib/kubelet/device-plugins" {
		t.Fatalf("defaults %+v", o)
	}
	if o.ApplyRuntime || o.RestartRuntime || o.ServeMetrics || o.MetricsBindAddress != "" {
		t.Fatal("a default turns on something with side effects")
	}
	kept := Options{Resync: 10 * time.Second}.Default()
	if kept.BackoffMax != 10*time.Second {
		t.Errorf("backoff max %v, want the resync", kept.BackoffMax)
	}
	fast := Options{Resync: time.Second}.Default()
	if fast.BackoffBase != time.Second || fast.Validate(false) != nil {
		t.Errorf("a short resync gives backoff %v..%v: %v", fast.BackoffBase, fast.BackoffMax, fast.Validate(false))
	}
}

func TestOptionsValidate(t *testing.T) {
	good := Options{NodeName: "n", Pool: "hami-a100", Sharing: "hami"}.Default()
	if err := good.Validate(true); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(*Options){
		"no node name":           func(o *Options) { o.NodeName = "" },
		"negative resync":        func(o *Options) { o.Resync = -1 },
		"backoff max below base": func(o *Options) { o.BackoffMax = time.Second },
		"exporter URL no scheme": func(o *Options) { o.ExporterURL = "127.0.0.1:9400/metrics" },
		"unknown runtime":        func(o *Options) { o.Runtimes = []string{"podman"} },
		"zero probe timeout":     func(o *Options) { o.ExporterTimeout = -time.Second },
		"pool not a label value": func(o *Options) { o.Pool = "a/b" },
		"unknown sharing":        func(o *Options) { o.Sharing = "vcuda" },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			o := good
			change(&o)
			if err := o.Validate(true); !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
	check := good
	check.NodeName = ""
	if err := check.Validate(false); err != nil {
		t.Fatalf("check needs no node name: %v", err)
	}
}
