package hami

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The fixtures are written by hand in the formats of the HAMi releases
// their names give; see doc.go.
func TestDecodeRegistrationFixtures(t *testing.T) {
	cases := []struct {
		file string
		want []Device
	}{
		{"register-v2.8.json", []Device{
			{UUID: "GPU-7d2f0b3a-1c4e-4a8e-9b1f-0a1b2c3d4e5f", Index: 0, Split: 10, MemoryMiB: 40960, Cores: 100, Type: "NVIDIA A100-SXM4-40GB", Health: true, Mode: ModeHAMiCore},
			// index and numa given, health left out (HAMi omits false)
			{UUID: "GPU-9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4", Index: 1, Split: 10, MemoryMiB: 40960, Cores: 100, Type: "NVIDIA A100-SXM4-40GB", NUMA: 1, Health: false, Mode: ModeHAMiCore},
		}},
		{"register-v2.7.txt", []Device{
			{UUID: "GPU-11111111-2222-3333-4444-555555555555", Index: 0, Split: 10, MemoryMiB: 15360, Cores: 100, Type: "NVIDIA-Tesla T4", Health: true, Mode: ModeHAMiCore},
			{UUID: "GPU-66666666-7777-8888-9999-000000000000", Index: 1, Split: 10, MemoryMiB: 15360, Cores: 100, Type: "NVIDIA-Tesla T4", Health: true, Mode: ModeHAMiCore},
		}},
		{"register-v2.4.txt", []Device{
			{UUID: "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", Index: 0, Split: 4, MemoryMiB: 32768, Cores: 100, Type: "NVIDIA-Tesla V100-SXM2-32GB", Health: true, Mode: ModeHAMiCore},
			{UUID: "GPU-ffffffff-0000-1111-2222-333333333333", Index: 1, Split: 4, MemoryMiB: 32768, Cores: 100, Type: "NVIDIA-Tesla V100-SXM2-32GB", NUMA: 1, Health: false, Mode: ModeHAMiCore},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got, err := DecodeRegistration(readFixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestRegistrationRoundTrip(t *testing.T) {
	ds := []Device{
		{UUID: "GPU-a", Index: 0, Split: 10, MemoryMiB: 81920, Cores: 100, Type: "NVIDIA H100 80GB HBM3", Health: true, Mode: ModeHAMiCore},
		{UUID: "GPU-b", Index: 1, Split: 10, MemoryMiB: 81920, Cores: 100, Type: "NVIDIA H100 80GB HBM3", NUMA: 1, Health: false, Mode: ModeMIG},
	}
	for name, enc := range map[string]func([]Device) (string, error){"json": EncodeRegistration, "legacy": EncodeRegistrationLegacy} {
		t.Run(name, func(t *testing.T) {
			s, err := enc(ds)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRegistration(s)
			if err != nil {
				t.Fatalf("decode %s: %v", s, err)
			}
			if !reflect.DeepEqual(got, ds) {
				t.Fatalf("round trip of %s:\ngot %+v\nwant %+v", s, got, ds)
			}
		})
	}
}

func TestDecodeRegistrationRefuses(t *testing.T) {
	cases := map[string]string{
		"empty":               ``,
		"no separator":        `GPU-a,10,15360,100,T4,0,true`,
		"six fields":          `GPU-a,10,15360,100,T4,0:`,
		"eight fields":        `GPU-a,10,15360,100,T4,0,true,0:`,
		"memory not number":   `GPU-a,10,16Gi,100,T4,0,true:`,
		"health not bool":     `GPU-a,10,15360,100,T4,0,yes:`,
		"negative index":      `GPU-a,10,15360,100,T4,0,true,-1,hami-core:`,
		"zero memory":         `GPU-a,10,0,100,T4,0,true:`,
		"duplicate uuid":      `GPU-a,10,1,100,T4,0,true,0,hami-core:GPU-a,10,1,100,T4,0,true,1,hami-core:`,
		"duplicate index":     `[{"id":"GPU-a","count":10,"devmem":1,"type":"T4"},{"id":"GPU-b","count":10,"devmem":1,"type":"T4"}]`,
		"json not list":       `{"id":"GPU-a"}`,
		"json trailing":       `[] []`,
		"json null card":      `[null]`,
		"json no uuid":        `[{"count":10,"devmem":1,"type":"T4"}]`,
		"json string count":   `[{"id":"GPU-a","count":"10","devmem":1,"type":"T4"}]`,
		"json negative cores": `[{"id":"GPU-a","count":10,"devmem":1,"devcore":-1,"type":"T4"}]`,
		"json huge split":     `[{"id":"GPU-a","count":100000000,"devmem":1,"type":"T4"}]`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			ds, err := DecodeRegistration(in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeRegistration(%q) = %+v, %v; want ErrMalformed", in, ds, err)
			}
		})
	}
}

func FuzzDecodeRegistration(f *testing.F) {
	for _, name := range []string{"register-v2.8.json", "register-v2.7.txt", "register-v2.4.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(`[]`)
	f.Add(`:`)
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := DecodeRegistration(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(ds) == 0 {
			return // "[]" and ":": an empty list has no legacy form to compare
		}
		// What decodes is valid, and encodes back to the same cards in
		// both formats.
		for _, enc := range []func([]Device) (string, error){EncodeRegistration, EncodeRegistrationLegacy} {
			out, err := enc(ds)
			if err != nil {
				t.Fatalf("decoded %+v but cannot encode it: %v", ds, err)
			}
			again, err := DecodeRegistration(out)
			if err != nil {
				t.Fatalf("re-decoding %q: %v", out, err)
			}
			if !reflect.DeepEqual(again, ds) {
				t.Fatalf("round trip through %q changed the cards:\n%+v\n%+v", out, ds, again)
			}
		}
	})
}
