package nodeagent

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/catalog"
)

func TestDevicePluginStep(t *testing.T) {
	cat := catalog.Default()
	two := Classify(discover(t, newMockServer(cfgT4, cfgT4)), cat) // 15360 MiB each: 60 units of 256 MiB
	cases := []struct {
		name        string
		node        nodeBuilder
		g           NodeGPUs
		discovered  bool
		vgpu        bool
		wantVerdict Verdict
		wantReason  string
		wantMessage string
	}{
		{name: "advertised", node: makeNode("n").withAllocatable("nvidia.com/gpu", "2"), g: two, discovered: true,
			wantVerdict: Ready, wantReason: "ResourceAdvertised"},
		{name: "missing", node: makeNode("n"), g: two, discovered: true,
			wantVerdict: NotReady, wantReason: "ResourceMissing", wantMessage: "nvidia.com/gpu missing from allocatable: is nvidia-device-plugin running on this node?"},
		{name: "count mismatch", node: makeNode("n").withAllocatable("nvidia.com/gpu", "1"), g: two, discovered: true,
			wantVerdict: NotReady, wantReason: "CountMismatch", wantMessage: "allocatable nvidia.com/gpu is 1 but NVML found 2 cards"},
		{name: "no cards known", node: makeNode("n").withAllocatable("nvidia.com/gpu", "2"), discovered: false,
			wantVerdict: Unknown, wantReason: "CardsUnknown"},
		{name: "vgpu advertised", node: makeNode("n").withAllocatable("tencent.com/vcuda-core", "200").withAllocatable("tencent.com/vcuda-memory", "120"),
			g: two, discovered: true, vgpu: true, wantVerdict: Ready, wantReason: "ResourceAdvertised"},
		{name: "vgpu without memory", node: makeNode("n").withAllocatable("tencent.com/vcuda-core", "200"),
			g: two, discovered: true, vgpu: true, wantVerdict: NotReady, wantReason: "ResourceMissing", wantMessage: "tencent.com/vcuda-memory missing"},
		{name: "vgpu core mismatch", node: makeNode("n").withAllocatable("tencent.com/vcuda-core", "100").withAllocatable("tencent.com/vcuda-memory", "120"),
			g: two, discovered: true, vgpu: true, wantVerdict: NotReady, wantReason: "CountMismatch", wantMessage: "is 100 but 2 cards make 200"},
		{name: "vgpu memory mismatch", node: makeNode("n").withAllocatable("tencent.com/vcuda-core", "200").withAllocatable("tencent.com/vcuda-memory", "64"),
			g: two, discovered: true, vgpu: true, wantVerdict: NotReady, wantReason: "CountMismatch", wantMessage: "makes 120 units of 256 MiB"},
		{name: "vgpu node ignores the whole-card resource", node: makeNode("n").withAllocatable("nvidia.com/gpu", "2"),
			g: two, discovered: true, vgpu: true, wantVerdict: NotReady, wantReason: "ResourceMissing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := devicePluginStep(tc.node.node(), tc.g, tc.discovered, tc.vgpu, cat, "")
			if s.Verdict != tc.wantVerdict || s.Reason != tc.wantReason || !strings.Contains(s.Message, tc.wantMessage) {
				t.Fatalf("step = %+v", s)
			}
		})
	}
}

func TestDevicePluginDirStep(t *testing.T) {
	cat := catalog.Default()
	withSocket := shortTempDir(t)
	ln, err := net.Listen("unix", filepath.Join(withSocket, "nvidia-gpu.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	kubeletOnly := shortTempDir(t)
	ln2, err := net.Listen("unix", filepath.Join(kubeletOnly, "kubelet.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	// A regular file named like the socket is not a registered plugin.
	if err := os.WriteFile(filepath.Join(kubeletOnly, "nvidia-gpu.sock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		dir         string
		vgpu        bool
		wantVerdict Verdict
		wantReason  string
	}{
		{"plugin registered", withSocket, false, Ready, "PluginRegistered"},
		{"only the kubelet", kubeletOnly, false, NotReady, "PluginNotRegistered"},
		{"no directory", filepath.Join(withSocket, "absent"), false, Skipped, "NoAPIServer"},
		{"vgpu", withSocket, true, Skipped, "NoAPIServer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := devicePluginDirStep(tc.dir, tc.vgpu, cat)
			if s.Verdict != tc.wantVerdict || s.Reason != tc.wantReason {
				t.Fatalf("step = %+v", s)
			}
		})
	}
}

// shortTempDir is a temporary directory with a path short enough for unix
// sockets (108 bytes), which t.TempDir's long names may exceed.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestDevicePluginStepHint(t *testing.T) {
	cat := catalog.Default()
	g := Classify(discover(t, newMockServer(cfgT4)), cat)
	registered := shortTempDir(t)
	ln, err := net.Listen("unix", filepath.Join(registered, "nvidia-gpu.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cases := map[string]struct{ dir, want string }{
		"plugin registered": {registered, "nvidia-gpu.sock is in " + registered + ", so the plugin registered but the kubelet does not advertise its cards"},
		"no plugin":         {shortTempDir(t), "(no nvidia*.sock in "},
		"directory unseen":  {filepath.Join(registered, "absent"), "running on this node?"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := devicePluginStep(makeNode("n").node(), g, true, false, cat, tc.dir)
			if s.Reason != "ResourceMissing" || !strings.Contains(s.Message, tc.want) {
				t.Fatalf("step = %+v", s)
			}
		})
	}
}
