package draclaim

import (
	"errors"
	"strings"
	"testing"

	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"

	"github.com/gpuplane/gpuplane/pkg/api"
	"github.com/gpuplane/gpuplane/pkg/catalog"
)

func draCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	c, err := catalog.New(catalog.Catalog{Pools: []catalog.Pool{
		{Name: "dra", Types: []string{"V100", "A100"}, Allocation: catalog.AllocationDRA},
		{Name: catalog.DefaultPool},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func forRequest(t *testing.T, c *catalog.Catalog, in string, force bool) (*resourcev1.ResourceClaimTemplate, error) {
	t.Helper()
	r, err := c.ParseResolve(in)
	if err != nil {
		t.Fatal(err)
	}
	return ForRequest(c, r, force)
}

func TestForRequest(t *testing.T) {
	c := draCatalog(t)
	v100, _ := c.TypeSelector("V100", catalog.DRA{DeviceClass: "gpu.nvidia.com", TypeAttribute: "productName"})

	tmpl, err := forRequest(t, c, "2(V100)", false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tmpl.Name, "gpuplane-2-v100-") || len(tmpl.Name) != len("gpuplane-2-v100-")+10 {
		t.Errorf("name %q", tmpl.Name)
	}
	if tmpl.Labels[api.LabelManagedBy] != api.ManagedBy || tmpl.Annotations[api.AnnotationRequest] != "2(V100)" {
		t.Errorf("labels %v annotations %v", tmpl.Labels, tmpl.Annotations)
	}
	reqs := tmpl.Spec.Spec.Devices.Requests
	if len(reqs) != 1 || reqs[0].Name != RequestName || reqs[0].Exactly == nil || reqs[0].FirstAvailable != nil {
		t.Fatalf("requests %+v", reqs)
	}
	ex := reqs[0].Exactly
	if ex.DeviceClassName != "gpu.nvidia.com" || ex.Count != 2 || ex.AllocationMode != resourcev1.DeviceAllocationModeExactCount ||
		len(ex.Selectors) != 1 || ex.Selectors[0].CEL.Expression != v100 {
		t.Errorf("exactly %+v", ex)
	}

	tmpl, err = forRequest(t, c, "2(V100|A100)", false)
	if err != nil {
		t.Fatal(err)
	}
	fa := tmpl.Spec.Spec.Devices.Requests[0].FirstAvailable
	if len(fa) != 2 || fa[0].Name != "v100" || fa[1].Name != "a100" || fa[0].Count != 2 || fa[1].Count != 2 ||
		fa[0].Selectors[0].CEL.Expression != v100 || tmpl.Spec.Spec.Devices.Requests[0].Exactly != nil {
		t.Errorf("firstAvailable %+v", fa)
	}

	// Other pools, "0", and another vendor keep the device-plugin form.
	for _, in := range []string{"1(T4)", "0", "1(amd)"} {
		if tmpl, err := forRequest(t, c, in, false); tmpl != nil || err != nil {
			t.Errorf("%s: %v, %v", in, tmpl, err)
		}
	}
	// Forced, any request of the default vendor takes the DRA form.
	if tmpl, err := forRequest(t, c, "1(T4)", true); err != nil || tmpl == nil {
		t.Errorf("forced T4: %v, %v", tmpl, err)
	}
	// A share goes to the pool the catalog resolved it to, which keeps it on
	// device-plugin allocation; in the forced DRA form it is refused.
	if tmpl, err := forRequest(t, c, "0.5(V100)", false); tmpl != nil || err != nil {
		t.Errorf("a share: %v, %v", tmpl, err)
	}
	if _, err := forRequest(t, c, "0.5(V100)", true); !errors.Is(err, catalog.ErrNoDRA) {
		t.Errorf("a share in the DRA form: %v", err)
	}
	if _, err := forRequest(t, c, "33(V100)", false); !errors.Is(err, catalog.ErrNoDRA) {
		t.Errorf("33 cards on a DRA pool: %v", err)
	}
}

func TestNameChangesWithTheSpecAndIsALabelValue(t *testing.T) {
	c := draCatalog(t)
	a, _ := forRequest(t, c, "2(V100)", false)
	b, _ := forRequest(t, c, "2(V100)", true)
	if a.Name != b.Name {
		t.Errorf("the same template is named %s and %s", a.Name, b.Name)
	}
	other, err := catalog.New(catalog.Catalog{Pools: []catalog.Pool{{Name: "dra", Allocation: catalog.AllocationDRA,
		DRA: catalog.DRA{DeviceClass: "gpu.example.com"}}}})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := forRequest(t, other, "2(V100)", false)
	if d.Name == a.Name {
		t.Errorf("two different templates are both named %s", a.Name)
	}
	long, err := forRequest(t, c, "32(V100|A100|T4|H100|H200|L40S|A10|A30)", true)
	if err != nil {
		t.Fatal(err)
	}
	if errs := content.IsLabelValue(long.Name); len(errs) > 0 || len(long.Name) > 63 {
		t.Errorf("name %q: %v", long.Name, errs)
	}
	if Template("0", catalog.DRAClaim{}) != nil {
		t.Error("a claim of no devices has a template")
	}
}
