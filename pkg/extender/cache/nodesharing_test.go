package cache

import (
	"os"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gpuplane/gpuplane/internal/extendertest"
	"github.com/gpuplane/gpuplane/pkg/api/hami"
	"github.com/gpuplane/gpuplane/pkg/placement"
)

func TestNodeInfoSharing(t *testing.T) {
	v27, err := os.ReadFile("../../api/hami/testdata/register-v2.7.txt")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		node      *corev1.Node
		sharing   placement.Sharing
		cards     []placement.Card
		units     []placement.Units
		whole     bool
		errSubstr string
	}{
		{
			name:    "HAMi node: cards from the registration, split count as task slots",
			node:    extendertest.MakeNode("h").HAMiCards(2, "T4", 10).Obj(),
			sharing: placement.SharingHAMi,
			cards: []placement.Card{{Index: 0, UUID: "GPU-h-0", Type: "T4", MemoryMiB: 16384, Slots: 10},
				{Index: 1, UUID: "GPU-h-1", Type: "T4", MemoryMiB: 16384, Slots: 10}},
			whole: true,
		},
		{
			name:    "HAMi v2.7 registration without the label: type from the product name",
			node:    extendertest.MakeNode("h").Annotate(hami.AnnotationRegister, string(v27)).Obj(),
			sharing: placement.SharingHAMi,
			cards: []placement.Card{{Index: 0, UUID: "GPU-11111111-2222-3333-4444-555555555555", Type: "T4", MemoryMiB: 15360, Slots: 10},
				{Index: 1, UUID: "GPU-66666666-7777-8888-9999-000000000000", Type: "T4", MemoryMiB: 15360, Slots: 10}},
		},
		{
			name: "unhealthy and MIG-mode cards are not shared",
			node: extendertest.MakeNode("h").Annotate(hami.AnnotationRegister,
				`[{"id":"GPU-a","count":4,"devmem":15360,"devcore":100,"type":"NVIDIA-Tesla T4","mode":"hami-core","health":true},`+
					`{"id":"GPU-b","index":1,"count":4,"devmem":15360,"devcore":100,"type":"NVIDIA-Tesla T4","mode":"hami-core"},`+
					`{"id":"GPU-c","index":2,"count":4,"devmem":15360,"devcore":100,"type":"NVIDIA-Tesla T4","mode":"mig","health":true}]`).Obj(),
			sharing: placement.SharingHAMi,
			cards:   []placement.Card{{Index: 0, UUID: "GPU-a", Type: "T4", MemoryMiB: 15360, Slots: 4}},
		},
		{
			name:    "MIG node: instances per profile",
			node:    extendertest.MakeNode("m").MIG("3g.40gb", 2).MIG("1g.10gb", 1).Obj(),
			sharing: placement.SharingMIG,
			units:   []placement.Units{{Name: "mig-1g.10gb", Total: 1}, {Name: "mig-3g.40gb", Total: 2}},
		},
		{
			name: "time-slicing node without the label",
			node: func() *corev1.Node {
				n := extendertest.MakeNode("ts").Timeslice(8).Obj()
				delete(n.Labels, "gpuplane.io/sharing")
				return n
			}(),
			sharing: placement.SharingTimeslice,
			units:   []placement.Units{{Name: "gpu.shared", Total: 8}},
		},
		{
			name: "MIG single strategy: its instances are the cards it advertises",
			node: func() *corev1.Node {
				n := extendertest.MakeNode("m").Whole(1, "A100").Obj()
				n.Labels["gpuplane.io/sharing"] = "mig"
				n.Status.Allocatable["nvidia.com/gpu"] = resource.MustParse("3")
				return n
			}(),
			sharing: placement.SharingMIG,
			cards:   []placement.Card{{Index: 0, Type: "A100", MemoryMiB: 81920}, {Index: 1, Type: "A100", MemoryMiB: 81920}, {Index: 2, Type: "A100", MemoryMiB: 81920}},
			whole:   true,
		},
		{
			name:      "labelled hami before HAMi registered",
			node:      extendertest.MakeNode("h").Annotate("x", "y").Obj(),
			errSubstr: "has not registered its cards",
		},
		{
			name:      "corrupt registration",
			node:      extendertest.MakeNode("h").Annotate(hami.AnnotationRegister, "GPU-a,10:").Obj(),
			sharing:   placement.SharingHAMi,
			errSubstr: "HAMi's registration is unreadable",
		},
		{
			name: "unknown backend label",
			node: func() *corev1.Node {
				n := extendertest.MakeNode("n").Obj()
				n.Labels["gpuplane.io/sharing"] = "vcuda"
				return n
			}(),
			errSubstr: `unknown sharing backend "vcuda"`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "labelled hami before HAMi registered" {
				tc.node.Labels["gpuplane.io/sharing"] = "hami"
			}
			info := nodeInfoFrom(tc.node, testVoc)
			if tc.errSubstr != "" {
				if info.err == nil || !strings.Contains(info.err.Error(), tc.errSubstr) {
					t.Fatalf("err = %v, want one mentioning %q", info.err, tc.errSubstr)
				}
				return
			}
			if info.err != nil {
				t.Fatal(info.err)
			}
			if info.sharing != tc.sharing || !reflect.DeepEqual(info.cards, tc.cards) || !reflect.DeepEqual(info.units, tc.units) || info.wholeCards != tc.whole {
				t.Fatalf("got %s cards %+v units %+v whole %v\nwant %s %+v %+v %v", info.sharing, info.cards, info.units, info.wholeCards,
					tc.sharing, tc.cards, tc.units, tc.whole)
			}
			if tc.sharing == placement.SharingHAMi && !info.vgpu {
				t.Fatal("a HAMi node does not serve shares")
			}
		})
	}
}
