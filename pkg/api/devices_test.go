package api

import (
	"errors"
	"reflect"
	"testing"
)

func TestDevicesRoundTrip(t *testing.T) {
	cases := map[string]Devices{
		"empty": {},
		"dgx": {
			{Index: 0, UUID: "GPU-0", Type: "A100", Product: "NVIDIA A100-SXM4-80GB", MemoryMiB: 81920},
			{Index: 1, UUID: "GPU-1", Type: "A100", Product: "NVIDIA A100-SXM4-80GB", MemoryMiB: 81920},
		},
		"no uuid": {{Index: 3, Type: "T4", MemoryMiB: 15360}},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := EncodeDevices(in)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			out, err := DecodeDevices(s)
			if err != nil {
				t.Fatalf("decode %s: %v", s, err)
			}
			if !reflect.DeepEqual(in, out) {
				t.Fatalf("round trip: got %#v, want %#v", out, in)
			}
		})
	}
}

func TestDecodeDevicesRefuses(t *testing.T) {
	cases := map[string]string{
		"not json":        `[{`,
		"object":          `{"index":0}`,
		"unknown field":   `[{"index":0,"type":"T4","memoryMiB":1,"colour":"red"}]`,
		"trailing":        `[] []`,
		"negative index":  `[{"index":-1,"type":"T4","memoryMiB":1}]`,
		"duplicate index": `[{"index":0,"type":"T4","memoryMiB":1},{"index":0,"type":"T4","memoryMiB":1}]`,
		"duplicate uuid":  `[{"index":0,"uuid":"a","type":"T4","memoryMiB":1},{"index":1,"uuid":"a","type":"T4","memoryMiB":1}]`,
		"no type":         `[{"index":0,"memoryMiB":1}]`,
		"zero memory":     `[{"index":0,"type":"T4","memoryMiB":0}]`,
		"string memory":   `[{"index":0,"type":"T4","memoryMiB":"16Gi"}]`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeDevices(in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeDevices(%s) = %v, want ErrMalformed", in, err)
			}
		})
	}
}

func FuzzDecodeDevices(f *testing.F) {
	f.Add(`[{"index":0,"uuid":"GPU-0","type":"V100","product":"Tesla V100-SXM2-32GB","memoryMiB":32768}]`)
	f.Add(`[]`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := DecodeDevices(s)
		if err != nil {
			return
		}
		enc, err := EncodeDevices(ds)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", s, err)
		}
		again, err := DecodeDevices(enc)
		if err != nil || len(again) != len(ds) {
			t.Fatalf("re-decode of %q: %v", enc, err)
		}
	})
}
