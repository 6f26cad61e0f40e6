package sim

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/pkg/placement"
)

func TestReadNodes(t *testing.T) {
	nodes, err := ReadNodes(strings.NewReader("\ufeffsn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2,P100\ncpu,32000,131072,0,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 {
		t.Fatalf("%d nodes", len(nodes))
	}
	n := nodes[0]
	if n.Name != "n0" || n.CPUMilli != 64000 || n.MemoryMiB != 262144 || len(n.Cards) != 2 || n.Cards[1].Type != "P100" || n.Cards[1].Index != 1 || !n.VGPU || !n.WholeCards {
		t.Fatalf("node %+v", n)
	}
	if len(nodes[1].Cards) != 0 {
		t.Fatalf("CPU node has cards: %+v", nodes[1])
	}
	bad := []struct{ name, csv string }{
		{"empty", ""},
		{"missing column", "sn,cpu_milli,memory_mib,gpu\nn,1,1,1\n"},
		{"not a number", "sn,cpu_milli,memory_mib,gpu,model\nn,x,1,1,T4\n"},
		{"GPUs without a model", "sn,cpu_milli,memory_mib,gpu,model\nn,1,1,2,\n"},
		{"too many GPUs", "sn,cpu_milli,memory_mib,gpu,model\nn,1,1,65,T4\n"},
		{"negative CPU", "sn,cpu_milli,memory_mib,gpu,model\nn,-1,1,1,T4\n"},
		{"no name", "sn,cpu_milli,memory_mib,gpu,model\n,1,1,1,T4\n"},
		{"short row", "sn,cpu_milli,memory_mib,gpu,model\nn,1,1\n"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadNodes(strings.NewReader(tc.csv)); !errors.Is(err, ErrTrace) {
				t.Fatalf("ReadNodes = %v, want ErrTrace", err)
			}
		})
	}
}

func TestReadPods(t *testing.T) {
	const in = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos\n" +
		"cpu,12000,1024,0,0,,LS\n" +
		"share,6000,2048,1,460,,LS\n" +
		"whole,8000,4096,8,1000,V100M16|V100M32,BE\n"
	pods, err := ReadPods(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []placement.Request{
		{CPUMilli: 12000, MemoryMiB: 1024},
		{Cards: 1, Milli: 460, VGPU: true, CPUMilli: 6000, MemoryMiB: 2048},
		{Cards: 8, Milli: 1000, Types: []string{"V100M16", "V100M32"}, CPUMilli: 8000, MemoryMiB: 4096},
	}
	for i, w := range want {
		if got := pods[i].Request; got.String() != w.String() || got.CPUMilli != w.CPUMilli || got.MemoryMiB != w.MemoryMiB || got.VGPU != w.VGPU {
			t.Errorf("pod %s = %+v, want %+v", pods[i].Name, got, w)
		}
	}
	// the multigpu lists have only the first five columns
	if _, err := ReadPods(strings.NewReader("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,2,1000\n")); err != nil {
		t.Fatal(err)
	}
	bad := []struct{ name, csv string }{
		{"empty", ""},
		{"missing column", "name,cpu_milli,memory_mib,num_gpu\np,1,1,1\n"},
		{"milli without cards", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,0,500\n"},
		{"share of two cards", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,2,500\n"},
		{"more than a card", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,1,1500\n"},
		{"no milli", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,1,0\n"},
		{"negative cards", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,-1,1000\n"},
		{"negative memory", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,-1,1,1000\n"},
		{"float", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1.5,1,1,1000\n"},
		{"bad quoting", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n\"p,1,1,1,1000\n"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadPods(strings.NewReader(tc.csv))
			if !errors.Is(err, ErrTrace) {
				t.Fatalf("ReadPods = %v, want ErrTrace", err)
			}
		})
	}
}

func FuzzReadNodes(f *testing.F) {
	f.Add(handmadeNodes)
	f.Add("sn,cpu_milli,memory_mib,gpu,model\nn,1,1,64,T4\n")
	f.Add("model,gpu,sn,memory_mib,cpu_milli\nT4,1,n,0,0\n")
	f.Fuzz(func(t *testing.T, in string) {
		nodes, err := ReadNodes(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrTrace) {
				t.Fatalf("error %v is not ErrTrace", err)
			}
			return
		}
		for i := range nodes {
			if err := nodes[i].Validate(); err != nil {
				t.Fatalf("read an invalid node: %v", err)
			}
		}
	})
}

func FuzzReadPods(f *testing.F) {
	f.Add(handmadePods)
	f.Add("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np,1,1,8,1000\n")
	f.Add("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np,1,1,1,5,A|B||C\n")
	f.Fuzz(func(t *testing.T, in string) {
		pods, err := ReadPods(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrTrace) {
				t.Fatalf("error %v is not ErrTrace", err)
			}
			return
		}
		for _, p := range pods {
			if err := p.Request.Validate(); err != nil {
				t.Fatalf("read an invalid request %+v: %v", p.Request, err)
			}
		}
	})
}
