package catalog

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRoles(t *testing.T) {
	c := Default()
	for _, role := range []string{"train", "service", "notebook", "Train", " notebook "} {
		if !c.HasRole(role) {
			t.Errorf("HasRole(%q) = false", role)
		}
	}
	if c.HasRole("batch") || c.HasRole("") {
		t.Error("HasRole accepts a role the catalog does not list")
	}
	r, err := c.RoleRequirement("Train")
	if err != nil || !reflect.DeepEqual(r, Requirement{Key: "train", Operator: "In", Values: []string{"true"}}) {
		t.Errorf("RoleRequirement(Train) = %+v, %v", r, err)
	}
	_, err = c.RoleRequirement("batch")
	if !errors.Is(err, ErrUnknownRole) || err.Error() != `unknown role "batch"; known roles: train, service, notebook` {
		t.Errorf("RoleRequirement(batch): %v", err)
	}
	none, err := Load(strings.NewReader(header + "roles: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.RoleRequirement("train"); err == nil || !strings.Contains(err.Error(), "none are configured") {
		t.Errorf("RoleRequirement with no roles: %v", err)
	}
}
