package api

import (
	"errors"
	"reflect"
	"strings"
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
		"mig": {
			{Index: 0, UUID: "GPU-0", Type: "A100", MemoryMiB: 81920, MIG: &DeviceMIG{Instances: []MIGInstance{
				{Profile: "3g.40gb", UUID: "MIG-a", Start: 0, Size: 4},
				{Profile: "2g.20gb", UUID: "MIG-b", Start: 4, Size: 2},
				{Profile: "1g.10gb+me", UUID: "MIG-c", Start: 6, Size: 1},
			}}},
			{Index: 1, UUID: "GPU-1", Type: "A100", MemoryMiB: 81920, MIG: &DeviceMIG{Instances: []MIGInstance{}}},
			{Index: 2, UUID: "GPU-2", Type: "A100", MemoryMiB: 81920},
		},
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
		"mig profile":     `[{"index":0,"type":"A100","memoryMiB":1,"mig":{"instances":[{"profile":"big","start":0,"size":1}]}}]`,
		"mig slices":      `[{"index":0,"type":"A100","memoryMiB":1,"mig":{"instances":[{"profile":"9g.10gb","start":0,"size":1}]}}]`,
		"mig overlap":     `[{"index":0,"type":"A100","memoryMiB":1,"mig":{"instances":[{"profile":"3g.40gb","start":0,"size":4},{"profile":"1g.10gb","start":3,"size":1}]}}]`,
		"mig outside":     `[{"index":0,"type":"A100","memoryMiB":1,"mig":{"instances":[{"profile":"1g.10gb","start":7,"size":2}]}}]`,
		"mig no size":     `[{"index":0,"type":"A100","memoryMiB":1,"mig":{"instances":[{"profile":"1g.10gb","start":0,"size":0}]}}]`,
		"mig compute":     `[{"index":0,"type":"A100","memoryMiB":1,"mig":{"instances":[{"profile":"4g.40gb","start":0,"size":2},{"profile":"4g.40gb","start":2,"size":2},{"profile":"1g.10gb","start":4,"size":1}]}}]`,
		"mig uuid twice":  `[{"index":0,"uuid":"a","type":"A100","memoryMiB":1,"mig":{"instances":[{"profile":"1g.10gb","uuid":"a","start":0,"size":1}]}}]`,
		"mig unknown key": `[{"index":0,"type":"A100","memoryMiB":1,"mig":{"mode":"on","instances":[]}}]`,
		"mig too many":    `[{"index":0,"type":"A100","memoryMiB":1,"mig":{"instances":[` + strings.Repeat(`{"profile":"1g.5gb","start":0,"size":1},`, 8) + `{"profile":"1g.5gb","start":0,"size":1}]}}]`,
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
	// The MIG layout: instances of several profiles, an empty MIG card.
	f.Add(`[{"index":0,"uuid":"GPU-0","type":"A100","memoryMiB":81920,"mig":{"instances":[{"profile":"3g.40gb","uuid":"MIG-a","start":0,"size":4},{"profile":"1g.10gb+me","uuid":"MIG-b","start":4,"size":1}]}},{"index":1,"type":"A30","memoryMiB":24576,"mig":{"instances":[]}}]`)
	f.Add(`[{"index":0,"type":"A100","memoryMiB":1,"mig":{"instances":[{"profile":"4g.40gb","start":0,"size":4},{"profile":"4g.40gb","start":4,"size":4}]}}]`)
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := DecodeDevices(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeDevices(%q) = %v, not ErrMalformed", s, err)
			}
			return
		}
		enc, err := EncodeDevices(ds)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", s, err)
		}
		again, err := DecodeDevices(enc)
		if err != nil {
			t.Fatalf("re-decode of %q: %v", enc, err)
		}
		if ds == nil {
			ds = Devices{}
		}
		if !reflect.DeepEqual(again, ds) {
			t.Fatalf("round trip of %q: %#v, want %#v", s, again, ds)
		}
	})
}

func TestMIGProfiles(t *testing.T) {
	ds := Devices{
		{Index: 0, Type: "A100", MemoryMiB: 1, MIG: &DeviceMIG{Instances: []MIGInstance{{Profile: "1g.10gb", Start: 0, Size: 1}, {Profile: "1g.10gb", Start: 1, Size: 1}}}},
		{Index: 1, Type: "A100", MemoryMiB: 1, MIG: &DeviceMIG{Instances: []MIGInstance{{Profile: "2g.20gb", Start: 0, Size: 2}}}},
		{Index: 2, Type: "A100", MemoryMiB: 1},
	}
	if got, mig := ds.MIGProfiles(); !mig || !reflect.DeepEqual(got, []string{"1g.10gb", "2g.20gb"}) {
		t.Fatalf("MIGProfiles = %v, %v", got, mig)
	}
	if got, mig := ds[2:].MIGProfiles(); mig || got != nil {
		t.Fatalf("MIGProfiles of a card without MIG = %v, %v", got, mig)
	}
}
