package request

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/gpuplane/gpuplane/pkg/catalog"
)

// TestShippedManagedResources checks that the scheduler configuration deploy/
// ships names every resource the extender decides on among its extender's
// managedResources (else kube-scheduler never sends those pods), and that
// the ones no device plugin advertises are ignoredByScheduler (else
// kube-scheduler finds no node with room for them).
func TestShippedManagedResources(t *testing.T) {
	path := filepath.Join("..", "..", "..", "deploy", "base", "scheduler", "scheduler-config.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var config struct {
		Extenders []struct {
			ManagedResources []struct {
				Name               corev1.ResourceName `json:"name"`
				IgnoredByScheduler bool                `json:"ignoredByScheduler"`
			} `json:"managedResources"`
		} `json:"extenders"`
	}
	if err := yaml.Unmarshal(raw, &config); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(config.Extenders) != 1 {
		t.Fatalf("%s: %d extenders, want 1", path, len(config.Extenders))
	}
	ignored := map[corev1.ResourceName]bool{}
	for _, r := range config.Extenders[0].ManagedResources {
		ignored[r.Name] = r.IgnoredByScheduler
	}
	v := VocabularyFrom(catalog.Default())
	// HAMi's device plugin advertises its card count only.
	unadvertised := map[corev1.ResourceName]bool{v.HAMiCoreResource: true, v.HAMiMemoryResource: true, v.HAMiMemoryPercent: true}
	for _, r := range v.managed() {
		ign, ok := ignored[r]
		if !ok {
			t.Errorf("%s: %s is not among the extender's managedResources", path, r)
			continue
		}
		if unadvertised[r] && !ign {
			t.Errorf("%s: %s is advertised by no node but not ignoredByScheduler", path, r)
		}
	}
}
