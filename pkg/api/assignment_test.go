package api

import (
	"errors"
	"reflect"
	"testing"
)

func TestAssignmentRoundTrip(t *testing.T) {
	in := Assignment{Node: "node-1", Containers: []ContainerAssignment{
		{Index: 0, Name: "main", Cards: []CardShare{{Index: 2, Cores: 50, MemoryMiB: 8192}}},
		{Index: 1, Name: "side", Cards: []CardShare{{Index: 0, Cores: 100, MemoryMiB: 16384}, {Index: 1, Cores: 100, MemoryMiB: 16384}}},
	}}
	s, err := EncodeAssignment(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeAssignment(s)
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	in.Version = AssignmentVersion
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("got %#v, want %#v", out, in)
	}
}

func TestDecodeAssignmentRefuses(t *testing.T) {
	cases := map[string]string{
		"garbage":         `nope`,
		"wrong version":   `{"version":"v9","node":"n","containers":[{"index":0,"cards":[{"index":0,"cores":50}]}]}`,
		"no node":         `{"version":"v1","containers":[{"index":0,"cards":[{"index":0,"cores":50}]}]}`,
		"no containers":   `{"version":"v1","node":"n","containers":[]}`,
		"no cards":        `{"version":"v1","node":"n","containers":[{"index":0,"cards":[]}]}`,
		"over 100 cores":  `{"version":"v1","node":"n","containers":[{"index":0,"cards":[{"index":0,"cores":101}]}]}`,
		"zero cores":      `{"version":"v1","node":"n","containers":[{"index":0,"cards":[{"index":0,"cores":0}]}]}`,
		"card twice":      `{"version":"v1","node":"n","containers":[{"index":0,"cards":[{"index":0,"cores":10},{"index":0,"cores":10}]}]}`,
		"container twice": `{"version":"v1","node":"n","containers":[{"index":0,"cards":[{"index":0,"cores":10}]},{"index":0,"cards":[{"index":1,"cores":10}]}]}`,
		"unknown field":   `{"version":"v1","node":"n","pod":"x","containers":[{"index":0,"cards":[{"index":0,"cores":10}]}]}`,
		"negative memory": `{"version":"v1","node":"n","containers":[{"index":0,"cards":[{"index":0,"cores":10,"memoryMiB":-1}]}]}`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeAssignment(in); !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeAssignment(%s) = %v, want ErrMalformed", in, err)
			}
		})
	}
}

func FuzzDecodeAssignment(f *testing.F) {
	f.Add(`{"version":"v1","node":"n","containers":[{"index":0,"name":"c","cards":[{"index":0,"cores":50,"memoryMiB":4096}]}]}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, s string) {
		a, err := DecodeAssignment(s)
		if err != nil {
			return
		}
		enc, err := EncodeAssignment(a)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", s, err)
		}
		again, err := DecodeAssignment(enc)
		if err != nil || !reflect.DeepEqual(a, again) {
			t.Fatalf("re-decode of %q: %v", enc, err)
		}
	})
}
