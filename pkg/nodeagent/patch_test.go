package nodeagent

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMetadataPatch(t *testing.T) {
	b, err := metadataPatch(metadataChange{
		Labels:      map[string]*string{"gpu-type": ptrTo("T4"), "vgpu": nil},
		Annotations: map[string]*string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"metadata":{"labels":{"gpu-type":"T4","vgpu":null}}}`
	if string(b) != want {
		t.Fatalf("patch %s, want %s", b, want)
	}
}

func TestStatusPatch(t *testing.T) {
	at := metav1.Unix(1700000000, 0).UTC()
	b, err := statusPatch([]corev1.NodeCondition{{Type: "GPUDriverReady", Status: corev1.ConditionTrue, Reason: "DriverLoaded", Message: "m",
		LastHeartbeatTime: metav1.NewTime(at), LastTransitionTime: metav1.NewTime(at)}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string][]map[string]string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	c := got["status"]["conditions"]
	if len(c) != 1 || c[0]["type"] != "GPUDriverReady" || c[0]["status"] != "True" || c[0]["lastTransitionTime"] != "2023-11-14T22:13:20Z" {
		t.Fatalf("patch %s", b)
	}
}
