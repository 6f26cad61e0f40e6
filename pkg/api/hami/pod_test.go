package hami

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

const (
	uuidA = "GPU-11111111-2222-3333-4444-555555555555"
	uuidB = "GPU-66666666-7777-8888-9999-000000000000"
)

func TestDecodePodDevicesFixtures(t *testing.T) {
	cases := []struct {
		file string
		want PodDevices
	}{
		// three containers: the first with a 25% share of A, the second
		// without cards, the third with all of B and a share of A.
		{"pod-allocated.txt", PodDevices{
			{{UUID: uuidA, Type: DeviceTypeNVIDIA, MemoryMiB: 4096, Cores: 25}},
			nil,
			{{UUID: uuidB, Type: DeviceTypeNVIDIA, MemoryMiB: 15360, Cores: 100}, {UUID: uuidA, Type: DeviceTypeNVIDIA, MemoryMiB: 2048, Cores: 10}},
		}},
		// the same after HAMi's device plugin allocated the first container:
		// its entry is emptied, the positions stay.
		{"pod-to-allocate-after-first.txt", PodDevices{
			nil,
			nil,
			{{UUID: uuidB, Type: DeviceTypeNVIDIA, MemoryMiB: 15360, Cores: 100}, {UUID: uuidA, Type: DeviceTypeNVIDIA, MemoryMiB: 2048, Cores: 10}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			raw := readFixture(t, tc.file)
			got, err := DecodePodDevices(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			// and it is exactly what the encoder writes
			s, err := EncodePodDevices(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if s != raw {
				t.Fatalf("EncodePodDevices = %q, want the fixture %q", s, raw)
			}
		})
	}
}

func TestDecodePodDevices(t *testing.T) {
	cases := map[string]struct {
		in   string
		want PodDevices
	}{
		"empty":                 {"", PodDevices{}},
		"one container emptied": {";", PodDevices{nil}},
		"no trailing ;":         {uuidA + ",NVIDIA,1024,30:", PodDevices{{{UUID: uuidA, Type: "NVIDIA", MemoryMiB: 1024, Cores: 30}}}},
		"no trailing :":         {uuidA + ",NVIDIA,1024,30;", PodDevices{{{UUID: uuidA, Type: "NVIDIA", MemoryMiB: 1024, Cores: 30}}}},
		"cores 0 (no limit)":    {uuidA + ",NVIDIA,1024,0:;", PodDevices{{{UUID: uuidA, Type: "NVIDIA", MemoryMiB: 1024}}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := DecodePodDevices(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecodePodDevicesRefuses(t *testing.T) {
	cases := map[string]string{
		"three fields":      uuidA + ",NVIDIA,1024:;",
		"five fields":       uuidA + ",NVIDIA,1024,30,x:;",
		"memory not number": uuidA + ",NVIDIA,1Gi,30:;",
		"cores not number":  uuidA + ",NVIDIA,1024,half:;",
		"negative memory":   uuidA + ",NVIDIA,-1,30:;",
		"negative cores":    uuidA + ",NVIDIA,1,-30:;",
		"no uuid":           ",NVIDIA,1,30:;",
		"no type":           uuidA + ",,1,30:;",
		"card twice":        uuidA + ",NVIDIA,1,30:" + uuidA + ",NVIDIA,1,30:;",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			pd, err := DecodePodDevices(in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodePodDevices(%q) = %+v, %v; want ErrMalformed", in, pd, err)
			}
		})
	}
}

func FuzzDecodePodDevices(f *testing.F) {
	for _, name := range []string{"pod-allocated.txt", "pod-to-allocate-after-first.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(";")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		pd, err := DecodePodDevices(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		out, err := EncodePodDevices(pd)
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", pd, err)
		}
		again, err := DecodePodDevices(out)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", out, err)
		}
		if again.Cards() != pd.Cards() || len(again) != len(pd) {
			t.Fatalf("round trip changed %+v into %+v", pd, again)
		}
	})
}

func TestNodeLock(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := NodeLock{Time: at, Namespace: "ml", Name: "train-0"}
	if got, want := l.String(), "2026-03-01T12:00:00Z,ml,train-0"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	got, err := DecodeNodeLock(l.String())
	if err != nil || !got.Time.Equal(at) || got.Namespace != "ml" || got.Name != "train-0" {
		t.Fatalf("DecodeNodeLock = %+v, %v", got, err)
	}
	if bare, err := DecodeNodeLock("2026-03-01T12:00:00Z"); err != nil || bare.Name != "" {
		t.Fatalf("bare time lock: %+v, %v", bare, err)
	}
	for _, bad := range []string{"", "yesterday,ml,train-0", "2026-03-01T12:00:00Z,ml", "2026-03-01T12:00:00Z,,x"} {
		if _, err := DecodeNodeLock(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeNodeLock(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func FuzzDecodeNodeLock(f *testing.F) {
	f.Add("2026-03-01T12:00:00Z,ml,train-0")
	f.Add("2026-03-01T12:00:00Z")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := DecodeNodeLock(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if l.Name != "" {
			if _, err := DecodeNodeLock(l.String()); err != nil {
				t.Fatalf("re-decoding %q: %v", l.String(), err)
			}
		}
	})
}
