package webhook

import (
	"testing"
)

func TestAnnotationOps(t *testing.T) {
	tests := []struct {
		name          string
		orig, mutated map[string]string
		want          string
	}{
		{name: "none before: the whole map", orig: nil, mutated: map[string]string{"a/b": "1"},
			want: `[{"op":"add","path":"/metadata/annotations","value":{"a/b":"1"}}]`},
		{name: "added and changed, in key order", orig: map[string]string{"x": "1", "y": "2"},
			mutated: map[string]string{"x": "1", "y": "3", "gpuplane.io/applied": "1"},
			want:    `[{"op":"add","path":"/metadata/annotations/gpuplane.io~1applied","value":"1"},{"op":"add","path":"/metadata/annotations/y","value":"3"}]`},
		{name: "removed", orig: map[string]string{"x": "1", "~y": "2"}, mutated: map[string]string{"x": "1"},
			want: `[{"op":"remove","path":"/metadata/annotations/~0y"}]`},
		{name: "unchanged", orig: map[string]string{"x": "1"}, mutated: map[string]string{"x": "1"}, want: `null`},
		{name: "both empty", want: `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertJSONEqual(t, mustJSON(t, mapOps("/metadata/annotations", tt.orig, tt.mutated)), []byte(tt.want))
		})
	}
}

func TestBuildPatchSamePodIsEmpty(t *testing.T) {
	pod := makePod().withGPU("1").obj()
	if ops := buildPatch(pod, pod); ops != nil {
		t.Errorf("patch of a pod against itself: %s", mustJSON(t, ops))
	}
	if ops := buildPatch(pod, pod.DeepCopy()); ops != nil {
		t.Errorf("patch of a pod against its copy: %s", mustJSON(t, ops))
	}
}

func TestBuildPatchContainersAddedOrRemoved(t *testing.T) {
	orig := makePod("a").obj()
	mutated := makePod("a", "b").obj()
	ops := buildPatch(orig, mutated)
	if len(ops) != 1 || ops[0].Path != "/spec/containers" {
		t.Fatalf("ops = %s, want the containers written whole", mustJSON(t, ops))
	}
	assertJSONEqual(t, applyOps(t, mustJSON(t, orig), ops), mustJSON(t, mutated))
}

func TestEscapePointer(t *testing.T) {
	for in, want := range map[string]string{
		"gpuplane.io/applied": "gpuplane.io~1applied",
		"a~b/c":               "a~0b~1c",
		"plain":               "plain",
		"~1":                  "~01",
	} {
		if got := escapePointer(in); got != want {
			t.Errorf("escapePointer(%q) = %q, want %q", in, got, want)
		}
	}
}
