package runtime

import (
	"bytes"
	"errors"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
)

// FuzzPlanDocker: whatever the bytes, PlanDocker never panics; when it
// accepts a file, the output parses, keeps every unrelated member
// byte-identical and in order, and planning it again changes nothing.
func FuzzPlanDocker(f *testing.F) {
	for _, s := range []string{seedDaemonJSON, seedDaemonJSONWant, "", "{}", `{"runtimes":{}}`,
		`{"runtimes":{"nvidia":{"path":"x","runtimeArgs":["a"]}},"default-runtime":"runc"}`, `[]`, `{"a":`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, changed, err := PlanDocker(in, RuntimeSpec{})
		if err != nil {
			if !errors.Is(err, ErrUnparsable) && !errors.Is(err, ErrUnexpectedShape) {
				t.Fatalf("error of no known class: %v", err)
			}
			return
		}
		if !changed && !bytes.Equal(out, in) {
			t.Fatal("unchanged plan returned different bytes")
		}
		assertDockerKeepsUnrelated(t, in, out)
		again, changedAgain, err := PlanDocker(out, RuntimeSpec{})
		if err != nil || changedAgain || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: changed=%v err=%v\nin:  %q\nout: %q", changedAgain, err, in, out)
		}
	})
}

// FuzzPlanContainerd: the same properties for config.toml, with unrelated
// content compared as decoded values (the file is re-encoded).
func FuzzPlanContainerd(f *testing.F) {
	for _, s := range []string{containerdV2, containerdV3, containerdV2Right, containerdV3Right, "", "version = 2\n",
		"version = 3\n[plugins]\n", "version = 1\n", "[x\n",
		"version = 2\nx = nan\ny = -inf\nz = -0.0\nd = 1979-05-27T07:32:00.999999Z\n[[a]]\nb = {c = [1, 'x']}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, changed, err := PlanContainerd(in, RuntimeSpec{})
		if err != nil {
			if !errors.Is(err, ErrUnparsable) && !errors.Is(err, ErrUnexpectedShape) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("error of no known class: %v", err)
			}
			return
		}
		if !changed && !bytes.Equal(out, in) {
			t.Fatal("unchanged plan returned different bytes")
		}
		var doc map[string]any
		if err := toml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("output does not parse: %v\nin:  %q\nout: %q", err, in, out)
		}
		plugin, err := containerdPlugin(doc)
		if err != nil {
			t.Fatalf("output has no usable version: %v", err)
		}
		assertContainerdKeepsUnrelated(t, in, out, plugin)
		again, changedAgain, err := PlanContainerd(out, RuntimeSpec{})
		if err != nil || changedAgain || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: changed=%v err=%v\nin:  %q\nout: %q", changedAgain, err, in, out)
		}
	})
}
