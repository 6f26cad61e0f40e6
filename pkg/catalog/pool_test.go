package catalog

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const poolsYAML = header + `pools:
  - name: hami
    types: [A100-80GB, T4]
    sharing: hami
    hami:
      splitCount: 4
  - name: mig
    types: [A100, A30]
    sharing: mig
    mig:
      strategy: single
  - name: ts
    types: [T4]
    sharing: timeslice
    timeslice:
      renameByDefault: false
      replicas: 4
  - name: default
`

func TestLoadPools(t *testing.T) {
	c, err := Load(strings.NewReader(poolsYAML))
	if err != nil {
		t.Fatal(err)
	}
	want := []Pool{
		{Name: "hami", Types: []string{"A100", "T4"}, Sharing: SharingHAMi, Allocation: AllocationDevicePlugin,
			HAMi: HAMi{Resource: "nvidia.com/gpu", MemoryResource: "nvidia.com/gpumem", MemoryPercentageResource: "nvidia.com/gpumem-percentage",
				CoresResource: "nvidia.com/gpucores", SplitCount: 4}},
		{Name: "mig", Types: []string{"A100", "A30"}, Sharing: SharingMIG, Allocation: AllocationDevicePlugin, MIG: MIG{Strategy: MIGSingle}},
		{Name: "ts", Types: []string{"T4"}, Sharing: SharingTimeslice, Allocation: AllocationDevicePlugin,
			Timeslice: Timeslice{Resource: "nvidia.com/gpu", Replicas: 4}},
		{Name: "default", Sharing: SharingGPUManager, Allocation: AllocationDevicePlugin},
	}
	for i := range want {
		d := want[i]
		d.setDefaults()
		want[i] = d
	}
	if !reflect.DeepEqual(c.Pools, want) {
		t.Fatalf("pools\n got %+v\nwant %+v", c.Pools, want)
	}
	var buf bytes.Buffer
	if err := c.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Load(&buf)
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("written and loaded back differs:\n%s", buf.String())
	}
}

func TestDefaultCatalogHasOneGPUManagerPool(t *testing.T) {
	c := Default()
	if len(c.Pools) != 1 || c.Pools[0].Name != DefaultPool || c.Pools[0].Sharing != SharingGPUManager ||
		c.Pools[0].Allocation != AllocationDevicePlugin {
		t.Fatalf("pools %+v: want the one implicit default pool", c.Pools)
	}
}

func TestLoadPoolRefusals(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"sharing and allocation", header + "pools:\n  - name: a\n    sharing: vcuda\n    allocation: magic\n", []string{
			`line 5: pools[0].sharing: "vcuda": must be gpu-manager, hami, mig or timeslice`,
			`line 6: pools[0].allocation: "magic": must be device-plugin or dra`}},
		{"names", header + "pools:\n  - name: a\n  - name: a\n  - name: not/a/value\n  - types: [T4]\n", []string{
			`line 5: pools[1].name: pool "a" is listed twice`,
			`line 6: pools[2].name: "not/a/value": not a label value`,
			`line 7: pools[3].name: "": a name is needed`}},
		{"types", header + "pools:\n  - name: a\n    types: [T4, X999, t4]\n", []string{
			`line 5: pools[0].types[1]: unknown type "X999"; types: `,
			`line 5: pools[0].types[2]: "t4" is type T4, already listed`}},
		{"mig types", header + "pools:\n  - name: a\n    sharing: mig\n  - name: b\n    sharing: mig\n    types: [T4]\n", []string{
			`line 4: pools[0].types: a mig pool lists its types`,
			`line 8: pools[1].types[0]: type T4 has no MIG profiles in this catalog`}},
		{"options of another backend", header + "pools:\n  - name: a\n    sharing: hami\n    mig:\n      strategy: mixed\n  - name: b\n    timeslice:\n      replicas: 2\n", []string{
			`line 6: pools[0].mig: mig settings apply to a pool with sharing: mig, not hami`,
			`line 9: pools[1].timeslice: timeslice settings apply to a pool with sharing: timeslice, not gpu-manager`}},
		{"backend options", header + "pools:\n  - name: a\n    sharing: hami\n    hami:\n      coresResource: cores\n      splitCount: 101\n  - name: b\n    sharing: mig\n    types: [A30]\n    mig:\n      strategy: both\n  - name: c\n    sharing: timeslice\n    timeslice:\n      replicas: -1\n", []string{
			`line 7: pools[0].hami.coresResource: "cores": not an extended resource name`,
			`line 8: pools[0].hami.splitCount: 101: must be 1 to 100`,
			`line 13: pools[1].mig.strategy: "both": must be mixed or single`,
			`line 17: pools[2].timeslice.replicas: -1: must be 0 (not given) to 1024`}},
		{"hami pools naming HAMi's resources apart", header + "pools:\n  - name: a\n    sharing: hami\n  - name: b\n    sharing: hami\n  - name: c\n    sharing: hami\n    hami:\n      coresResource: example.com/cores\n", []string{
			`line 10: pools[2].hami: names HAMi's resources nvidia.com/gpu, nvidia.com/gpumem, nvidia.com/gpumem-percentage, example.com/cores; pool "a" names them nvidia.com/gpu, nvidia.com/gpumem, nvidia.com/gpumem-percentage, nvidia.com/gpucores`}},
		{"dra settings without dra", header + "pools:\n  - name: a\n    dra:\n      deviceClass: gpu.nvidia.com\n", []string{
			`line 5: pools[0].dra: only a pool with allocation: dra takes dra settings`}},
		{"unknown field", header + "pools:\n  - name: a\n    shareing: hami\n", []string{
			`line 5: pools[0].shareing: unknown field "shareing"; known: name, types, sharing, allocation, dra, hami, mig, timeslice`}},
		{"mig profiles", header + "types:\n  - name: X1\n    memory: 40Gi\n    mig: {slices: 7, profiles: [1g.5gb, 1g.5gb, 8g.40gb, 3g.50gb, 3.40gb, 1g.5gb+me]}\n  - name: X2\n    memory: 8Gi\n    mig: {slices: 9, profiles: []}\n", []string{
			`line 6: types[0].mig.profiles[4]: "3.40gb" is not a MIG profile name like 1g.10gb`,
		}},
		{"mig tables", header + "types:\n  - name: X1\n    memory: 40Gi\n    mig: {slices: 7, profiles: [1g.5gb, 1g.5gb, 8g.40gb, 3g.50gb, 1g.5gb+me]}\n  - name: X2\n    memory: 8Gi\n    mig: {slices: 9, profiles: []}\n", []string{
			`line 6: types[0].mig.profiles[1]: profile 1g.5gb is listed twice`,
			`line 6: types[0].mig.profiles[2]: profile 8g.40gb has 8 compute slices, more than the card's 7`,
			`line 6: types[0].mig.profiles[3]: profile 3g.50gb has more memory than the card's 40Gi`,
			`line 9: types[1].mig.slices: 9: the compute slices of a card are 1 to 8`,
			`line 9: types[1].mig.profiles: a type with MIG lists its profiles`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tc.yaml))
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Load: %v, want a *LoadError", err)
			}
			var got []string
			for _, fe := range le.Errs {
				got = append(got, fe.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("error %d:\n got %s\nwant %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestParseMIGProfile(t *testing.T) {
	cases := []struct {
		in   string
		want MIGProfile
		err  bool
	}{
		{in: "1g.10gb", want: MIGProfile{Name: "1g.10gb", Slices: 1, MemoryMiB: 10240}},
		{in: "7G.141GB", want: MIGProfile{Name: "7g.141gb", Slices: 7, MemoryMiB: 141 * 1024}},
		{in: "1g.10gb+me", want: MIGProfile{Name: "1g.10gb+me", Slices: 1, MemoryMiB: 10240, Media: true}},
		{in: "1g.10gb.me", want: MIGProfile{Name: "1g.10gb+me", Slices: 1, MemoryMiB: 10240, Media: true}},
		{in: "0g.10gb", err: true},
		{in: "9g.10gb", err: true},
		{in: "1g.0gb", err: true},
		{in: "1g.010gb", err: true},
		{in: "1g10gb", err: true},
		{in: "1g.10", err: true},
		{in: "g.10gb", err: true},
		{in: "", err: true},
	}
	for _, tc := range cases {
		got, err := ParseMIGProfile(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseMIGProfile(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	if r := (MIGProfile{Name: "1g.10gb+me"}).Resource(); r != "1g.10gb.me" {
		t.Errorf("Resource of 1g.10gb+me = %q", r)
	}
}

func TestSmallestMIG(t *testing.T) {
	c := Default()
	cases := []struct {
		typ        string
		hundredths int
		memMiB     int64
		want       string
	}{
		{"A100", 50, 40 * 1024, "4g.40gb"}, // 3.5 slices of 7
		{"A100", 25, 20 * 1024, "2g.20gb"}, // 1.75 slices
		{"A100", 10, 8 * 1024, "1g.10gb"},  // never the +me profile
		{"A100", 10, 16 * 1024, "1g.20gb"}, // memory picks the larger 1g
		{"A100", 43, 10 * 1024, "4g.40gb"}, // 3.01 slices
		{"A100", 42, 10 * 1024, "3g.40gb"}, // 2.94 slices
		{"A30", 50, 12 * 1024, "2g.12gb"},  // 4 slices on an A30
		{"A30", 51, 12 * 1024, "4g.24gb"},  // 2.04 slices
		{"H200", 99, 141 * 1024, "7g.141gb"},
		{"A100-40GB", 10, 41 * 1024, ""}, // more memory than any profile
	}
	for _, tc := range cases {
		ty, _ := c.Type(tc.typ)
		got, ok := ty.smallestMIG(tc.hundredths, tc.memMiB)
		if got.Name != tc.want || ok != (tc.want != "") {
			t.Errorf("%s %d%% %dMi: %q, %v; want %q", tc.typ, tc.hundredths, tc.memMiB, got.Name, ok, tc.want)
		}
	}
}
