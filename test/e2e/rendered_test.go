//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A program of deploy/ run here as the kubelet would run its container: the
// container's args as rendered, with $(VAR) references expanded from the
// container's env, whose downward-API fields are filled in for one pod. The
// test may then replace a flag (a listen address on this machine, a path)
// and add flags, each named where it is done.

// renderedPod says what the downward API tells a container about its pod.
type renderedPod struct {
	namespace, nodeName, hostIP string
}

// renderedContainer returns the container of a rendered DaemonSet or
// Deployment.
func renderedContainer(t *testing.T, objs []*unstructured.Unstructured, kind, name, container string) (corev1.Container, corev1.PodSpec) {
	t.Helper()
	obj := deployFind(t, objs, kind, name)
	var spec corev1.PodSpec
	switch kind {
	case "DaemonSet":
		var ds appsv1.DaemonSet
		deployConvert(t, obj, &ds)
		spec = ds.Spec.Template.Spec
	case "Deployment":
		var d appsv1.Deployment
		deployConvert(t, obj, &d)
		spec = d.Spec.Template.Spec
	default:
		t.Fatalf("renderedContainer: kind %s holds no pod template here", kind)
	}
	return deployContainer(t, spec, container), spec
}

// renderedEnv returns the container's environment as the kubelet sets it for
// pod: literal values (with earlier variables expanded) and the downward-API
// fields the manifests use. A field the test does not know fails the test,
// so a new one is noticed.
func renderedEnv(t *testing.T, c corev1.Container, pod renderedPod) []string {
	t.Helper()
	var env []string
	vars := map[string]string{}
	for _, e := range c.Env {
		v := e.Value
		switch {
		case e.ValueFrom == nil:
			v = renderedExpand(v, vars)
		case e.ValueFrom.FieldRef != nil:
			switch e.ValueFrom.FieldRef.FieldPath {
			case "metadata.namespace":
				v = pod.namespace
			case "spec.nodeName":
				v = pod.nodeName
			case "status.hostIP":
				v = pod.hostIP
			default:
				t.Fatalf("container %s: env %s from field %s, which the test does not fill in", c.Name, e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
		default:
			t.Fatalf("container %s: env %s from a source the test does not fill in: %+v", c.Name, e.Name, e.ValueFrom)
		}
		vars[e.Name] = v
		env = append(env, e.Name+"="+v)
	}
	return env
}

// renderedArgs returns the container's args with $(VAR) expanded from env,
// as the kubelet expands them.
func renderedArgs(c corev1.Container, env []string) []string {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = renderedExpand(a, vars)
	}
	return args
}

// renderedExpand replaces $(NAME) by the variable's value; an unknown name
// stays as it is, as in Kubernetes.
func renderedExpand(s string, vars map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "$(")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.Index(s[i:], ")")
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		name := s[i+2 : i+j]
		b.WriteString(s[:i])
		if v, ok := vars[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
}

// renderedSetFlag returns args with --name set to value: the rendered flag's
// value replaced in place, or the flag added when the manifest has none. It
// fails the test when replace is true and the manifest lacks the flag, so a
// test that means to override a shipped value notices when it is gone.
func renderedSetFlag(t *testing.T, args []string, name, value string, replace bool) []string {
	t.Helper()
	out := slices.Clone(args)
	for i, a := range out {
		if a == name || strings.HasPrefix(a, name+"=") {
			out[i] = name + "=" + value
			return out
		}
	}
	if replace {
		t.Fatalf("the manifest passes no %s; the test meant to replace its value with %q", name, value)
	}
	return append(out, name+"="+value)
}

// renderedWithEnv returns the program and arguments that run bin with args
// in env (through env(1), which replaces itself with bin, so killing the
// process kills bin), for faultRun.
func renderedWithEnv(t *testing.T, env []string, bin string, args ...string) (string, []string) {
	t.Helper()
	envBin := "/usr/bin/env"
	if _, err := os.Stat(envBin); err != nil {
		t.Fatalf("env(1) is needed to start a program with its container's environment: %v", err)
	}
	return envBin, append(append(slices.Clone(env), bin), args...)
}

// renderedHostDirs creates under root each host directory the pod spec
// mounts from the host (hostPath volumes), as the kubelet would for
// DirectoryOrCreate and as the node has it for Directory, and returns them
// by mount path.
func renderedHostDirs(t *testing.T, spec corev1.PodSpec, c corev1.Container, root string) map[string]string {
	t.Helper()
	hostPaths := map[string]string{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	dirs := map[string]string{}
	for _, m := range c.VolumeMounts {
		hp, ok := hostPaths[m.Name]
		if !ok {
			continue
		}
		dir := filepath.Join(root, filepath.FromSlash(hp))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs[m.MountPath] = dir
	}
	if len(dirs) == 0 {
		t.Fatalf("container %s mounts no host path", c.Name)
	}
	return dirs
}
