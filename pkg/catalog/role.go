package catalog

import (
	"fmt"
	"strings"
)

// HasRole reports whether role is one of the catalog's roles, without
// regard to case.
func (c *Catalog) HasRole(role string) bool {
	_, ok := lookup(c.idx.roles, strings.TrimSpace(role))
	return ok
}

// RoleRequirement returns the node requirement of a role: <role> In
// [true], with the role spelt as the catalog spells it. A role the catalog
// does not list is an ErrUnknownRole error that lists those it does.
func (c *Catalog) RoleRequirement(role string) (Requirement, error) {
	i, ok := lookup(c.idx.roles, strings.TrimSpace(role))
	if !ok {
		known := "none are configured"
		if len(c.Roles) > 0 {
			known = "known roles: " + strings.Join(c.Roles, ", ")
		}
		return Requirement{}, fmt.Errorf("%w %q; %s", ErrUnknownRole, role, known)
	}
	return Requirement{Key: c.Roles[i], Operator: OperatorIn, Values: []string{"true"}}, nil
}
