package catalog

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// sharingYAML has a pool of each backend, a single-strategy MIG pool and
// the default pool last.
const sharingYAML = header + `pools:
  - name: hami
    types: [A100, T4]
    sharing: hami
  - name: mig
    types: [A100, A30, H100]
    sharing: mig
  - name: migs
    types: [H200]
    sharing: mig
    mig: {strategy: single}
  - name: ts
    types: [T4, L4]
    sharing: timeslice
  - name: default
`

// timesliceYAML has a time-slice pool only.
const timesliceYAML = header + `pools:
  - name: ts
    types: [T4]
    sharing: timeslice
`

func mustLoad(t *testing.T, y string) *Catalog {
	t.Helper()
	c, err := Load(strings.NewReader(y))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResolveSharing(t *testing.T) {
	sharing := mustLoad(t, sharingYAML)
	ts := mustLoad(t, timesliceYAML)
	defaultPoolNotIn := in(PoolLabel, "hami", "mig", "migs", "ts")
	defaultPoolNotIn.Operator = OperatorNotIn
	cases := []struct {
		name, in  string
		cat       *Catalog
		pool      string
		sharing   Sharing
		profile   string
		resources []Amount
		required  []Requirement
		canonical string
	}{
		{"hami share", "0.5(A100)", sharing, "hami", SharingHAMi, "",
			[]Amount{{"nvidia.com/gpu", 1}, {"nvidia.com/gpumem", 40960}, {"nvidia.com/gpucores", 50}},
			[]Requirement{in(SharingLabel, "hami"), in(PoolLabel, "hami"), in("gpu-type", "A100")}, "0.5(A100)"},
		{"hami share with memory", "0.25(T4,4Gi)", sharing, "hami", SharingHAMi, "",
			[]Amount{{"nvidia.com/gpu", 1}, {"nvidia.com/gpumem", 4096}, {"nvidia.com/gpucores", 25}},
			[]Requirement{in(SharingLabel, "hami"), in(PoolLabel, "hami"), in("gpu-type", "T4")}, "0.25(T4,4Gi)"},
		{"hami memory not in 256Mi units", "0.25(T4,1000Mi)", sharing, "hami", SharingHAMi, "",
			[]Amount{{"nvidia.com/gpu", 1}, {"nvidia.com/gpumem", 1000}, {"nvidia.com/gpucores", 25}},
			[]Requirement{in(SharingLabel, "hami"), in(PoolLabel, "hami"), in("gpu-type", "T4")}, "0.25(T4,1000Mi)"},
		{"hami virtual card, the pool's types", "1(VGPU)", sharing, "hami", SharingHAMi, "",
			[]Amount{{"nvidia.com/gpu", 1}, {"nvidia.com/gpumem-percentage", 100}, {"nvidia.com/gpucores", 100}},
			[]Requirement{in(SharingLabel, "hami"), in(PoolLabel, "hami"), in("gpu-type", "A100", "T4")}, "1(VGPU)"},
		{"hami virtual cards with memory", "2(VGPU,T4,8Gi)", sharing, "hami", SharingHAMi, "",
			[]Amount{{"nvidia.com/gpu", 2}, {"nvidia.com/gpumem", 8192}, {"nvidia.com/gpucores", 100}},
			[]Requirement{in(SharingLabel, "hami"), in(PoolLabel, "hami"), in("gpu-type", "T4")}, "2(VGPU,T4,8Gi)"},
		{"untyped share sized on the pool's smallest type", "0.5", sharing, "hami", SharingHAMi, "",
			[]Amount{{"nvidia.com/gpu", 1}, {"nvidia.com/gpumem", 8192}, {"nvidia.com/gpucores", 50}},
			[]Requirement{in(SharingLabel, "hami"), in(PoolLabel, "hami"), in("gpu-type", "A100", "T4")}, "0.5"},
		{"mig share, smallest profile", "0.5(A30)", sharing, "mig", SharingMIG, "2g.12gb",
			[]Amount{{"nvidia.com/mig-2g.12gb", 1}},
			[]Requirement{in(SharingLabel, "mig"), in(PoolLabel, "mig"), in("gpu-type", "A30")}, "0.5(A30)"},
		{"mig share with memory", "0.1(H100,16Gi)", sharing, "mig", SharingMIG, "1g.20gb",
			[]Amount{{"nvidia.com/mig-1g.20gb", 1}},
			[]Requirement{in(SharingLabel, "mig"), in(PoolLabel, "mig"), in("gpu-type", "H100")}, "0.1(H100,16Gi)"},
		{"explicit profile of a type", "1(A100,mig-3g.40gb)", sharing, "mig", SharingMIG, "3g.40gb",
			[]Amount{{"nvidia.com/mig-3g.40gb", 1}},
			[]Requirement{in(SharingLabel, "mig"), in(PoolLabel, "mig"), in("gpu-type", "A100")}, "1(A100,mig-3g.40gb)"},
		{"explicit profile, any type", "1(MIG-1G.10GB)", sharing, "mig", SharingMIG, "1g.10gb",
			[]Amount{{"nvidia.com/mig-1g.10gb", 1}},
			[]Requirement{in(SharingLabel, "mig"), in(PoolLabel, "mig")}, "1(mig-1g.10gb)"},
		{"media profile", "1(A30,mig-1g.6gb.me)", sharing, "mig", SharingMIG, "1g.6gb+me",
			[]Amount{{"nvidia.com/mig-1g.6gb.me", 1}},
			[]Requirement{in(SharingLabel, "mig"), in(PoolLabel, "mig"), in("gpu-type", "A30")}, "1(A30,mig-1g.6gb.me)"},
		{"profile of the second mig pool, single strategy", "1(mig-1g.18gb)", sharing, "migs", SharingMIG, "1g.18gb",
			[]Amount{{"nvidia.com/gpu", 1}},
			[]Requirement{in(SharingLabel, "mig"), in(PoolLabel, "migs"),
				in(MIGProfileLabel, "1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb")}, "1(mig-1g.18gb)"},
		{"single strategy share", "0.5(H200)", sharing, "migs", SharingMIG, "4g.71gb",
			[]Amount{{"nvidia.com/gpu", 1}},
			[]Requirement{in(SharingLabel, "mig"), in(PoolLabel, "migs"), in(MIGProfileLabel, "4g.71gb", "7g.141gb"), in("gpu-type", "H200")}, "0.5(H200)"},
		{"time-slice share", "0.25(L4)", sharing, "ts", SharingTimeslice, "",
			[]Amount{{"nvidia.com/gpu.shared", 1}},
			[]Requirement{in(SharingLabel, "timeslice"), in(PoolLabel, "ts"), in("gpu-type", "L4")}, "0.25(L4)"},
		{"time-slice refuses memory, the default pool serves", "0.25(L4,4Gi)", sharing, "default", SharingGPUManager, "",
			[]Amount{{"tencent.com/vcuda-core", 25}, {"tencent.com/vcuda-memory", 16}},
			[]Requirement{in("vgpu", "true"), defaultPoolNotIn, in("gpu-type", "L4")}, "0.25(L4,4Gi)"},
		{"mixed types needing different profiles go on", "0.5(A100|A30)", sharing, "default", SharingGPUManager, "",
			[]Amount{{"tencent.com/vcuda-core", 50}, {"tencent.com/vcuda-memory", 48}},
			[]Requirement{in("vgpu", "true"), defaultPoolNotIn, in("gpu-type", "A100", "A30")}, "0.5(A100|A30)"},
		{"time-slice only", "0.25(T4)", ts, "ts", SharingTimeslice, "",
			[]Amount{{"nvidia.com/gpu.shared", 1}},
			[]Requirement{in(SharingLabel, "timeslice"), in(PoolLabel, "ts"), in("gpu-type", "T4")}, "0.25(T4)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.cat.ParseResolve(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.Pool != tc.pool || r.Sharing != tc.sharing || r.MIGProfile != tc.profile {
				t.Errorf("pool %q sharing %q profile %q; want %q %q %q", r.Pool, r.Sharing, r.MIGProfile, tc.pool, tc.sharing, tc.profile)
			}
			if !reflect.DeepEqual(r.Resources, tc.resources) {
				t.Errorf("resources\n got %v\nwant %v", r.Resources, tc.resources)
			}
			if !reflect.DeepEqual(r.Required, tc.required) {
				t.Errorf("required\n got %v\nwant %v", r.Required, tc.required)
			}
			if r.String() != tc.canonical {
				t.Errorf("canonical %q, want %q", r.String(), tc.canonical)
			}
			again, err := tc.cat.ParseResolve(r.String())
			if err != nil || !reflect.DeepEqual(again, r) {
				t.Errorf("the canonical form resolves differently: %v\n%+v\n%+v", err, again, r)
			}
		})
	}
}

func TestResolveWholeCardsIgnorePools(t *testing.T) {
	c := mustLoad(t, sharingYAML)
	got, err := c.ParseResolve("2(A100)")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Default().ParseResolve("2(A100)")
	if !reflect.DeepEqual(got.Resources, want.Resources) || !reflect.DeepEqual(got.Required, want.Required) || got.Pool != "" {
		t.Fatalf("whole cards with pools: %+v; want %+v", got, want)
	}
}

func TestResolveSharingRefusals(t *testing.T) {
	sharing := mustLoad(t, sharingYAML)
	ts := mustLoad(t, timesliceYAML)
	cases := []struct {
		name, in string
		cat      *Catalog
		class    error
		msg      string
	}{
		{"memory on time-slicing", "0.25(T4,4Gi)", ts, ErrSharing,
			`"0.25(T4,4Gi)": pool ts shares cards by time-slicing, which does not isolate memory: a memory amount of 4Gi cannot be kept; ` +
				`write 0.25(T4) for a time-sliced share without a memory limit (each pod may use all of the card's memory), or ask a type of a pool that limits memory (hami, gpu-manager, mig)`},
		{"virtual cards on time-slicing", "1(VGPU,T4)", ts, ErrSharing,
			`"1(VGPU,T4)": pool ts shares cards by time-slicing, whose replicas are not whole virtual cards; ask for a share such as 0.5(T4), or for whole cards such as 1(T4)`},
		{"a type no pool has", "0.5(V100)", ts, ErrSharing,
			`"0.5(V100)": no pool of the catalog serves a share or virtual cards of V100; the pools, in order: ts (timeslice: T4)`},
		{"a profile on a type without it", "1(T4,mig-1g.10gb)", sharing, ErrMIGProfile,
			`"1(T4,mig-1g.10gb)": T4 offers no MIG profile 1g.10gb; T4 profiles: none`},
		{"a profile another size of the type has", "1(A100,mig-1g.5gb)", sharing, ErrMIGProfile,
			`"1(A100,mig-1g.5gb)": A100 offers no MIG profile 1g.5gb; A100 profiles: 1g.10gb, 1g.10gb.me, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb`},
		{"an unknown profile", "1(mig-9g.10gb)", sharing, ErrMIGProfile,
			`"1(mig-9g.10gb)": unknown MIG profile 9g.10gb: no type of the catalog offers it; profiles are written as the device plugin's resource, e.g. for A30: 1g.6gb, 1g.6gb.me, 2g.12gb, 2g.12gb.me, 4g.24gb`},
		{"a profile with no mig pool for its type", "1(A100-40GB,mig-1g.5gb)", sharing, ErrSharing,
			`"1(A100-40GB,mig-1g.5gb)": pool default shares cards through gpu-manager, which has no MIG instances; a MIG profile is served by a pool with sharing: mig`},
		{"a profile on the built-in catalog", "1(A100,mig-3g.40gb)", Default(), ErrSharing,
			`pool default shares cards through gpu-manager, which has no MIG instances`},
		{"MIG of another vendor", "1(amd,MI250,mig-1g.10gb)", sharing, ErrNoVGPU,
			`MIG is offered for nvidia cards only, not amd`},
		{"a share larger than any profile's memory", "0.1(A30,30Gi)", mustLoad(t, header+"pools:\n  - name: m\n    types: [A30]\n    sharing: mig\n"), ErrSharing,
			`"0.1(A30,30Gi)": no MIG profile of A30 holds 0.1 of its compute and 30Gi of memory; A30 profiles: 1g.6gb, 1g.6gb.me, 2g.12gb, 2g.12gb.me, 4g.24gb; ask for less memory, or for a whole card`},
		{"virtual cards on MIG", "1(VGPU,A30)", mustLoad(t, header+"pools:\n  - name: m\n    types: [A30]\n    sharing: mig\n"), ErrSharing,
			`"1(VGPU,A30)": pool m shares cards through MIG, whose instances are not whole virtual cards; ask for a share such as 0.5(A30), which is given the smallest instance holding it, or for whole cards such as 1(A30)`},
		{"types needing different profiles", "0.5(A100|A30)", mustLoad(t, header+"pools:\n  - name: m\n    types: [A100, A30]\n    sharing: mig\n"), ErrSharing,
			`"0.5(A100|A30)": pool m shares cards through MIG (mixed strategy), and the types would need different profiles (A100: 4g.40gb, A30: 2g.12gb); name one type, as in 0.5(A100)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cat.ParseResolve(tc.in)
			if !errors.Is(err, tc.class) {
				t.Fatalf("error %v, want class %v", err, tc.class)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error\n got %s\nwant %s", err, tc.msg)
			}
		})
	}
}

func TestIsolation(t *testing.T) {
	for s, want := range map[Sharing]Isolation{
		SharingGPUManager: {true, true}, SharingHAMi: {true, true}, SharingMIG: {true, true}, SharingTimeslice: {false, false},
	} {
		if got := s.Isolation(); got != want {
			t.Errorf("%s isolates %+v, want %+v", s, got, want)
		}
	}
}
