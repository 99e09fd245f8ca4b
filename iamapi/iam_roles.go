package iamapi

import (
	"strconv"

	"github.com/postern/postern/iam"
)

// Roles.

var roles = entity[iam.Role, xRole]{
	t: iam.EntityRole, param: "RoleName", maxLen: iam.MaxRoleNameLen,
	create: func(c *call, name string) (iam.Role, error) {
		trust, err := c.required("AssumeRolePolicyDocument")
		if err != nil {
			return iam.Role{}, err
		}
		var maxSession int
		path, err := c.creating(iam.EntityRole, name, func() (err error) {
			maxSession, err = maxSessionParam(c)
			return err
		})
		if err != nil {
			return iam.Role{}, err
		}
		return c.h.svc.CreateRole(c.r.Context(), c.account(), name, path, trust, c.f.get("Description"), maxSession)
	},
	get: iam.Store.GetRole, list: iam.Store.ListRoles, del: iam.Store.DeleteRole,
	name: func(r iam.Role) string { return r.Name }, path: func(r iam.Role) string { return r.Path },
	xml: func(r iam.Role) xRole { return roleXML(r, true) },
}

func roleXML(r iam.Role, withTrust bool) xRole {
	x := xRole{Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: r.ARN(), CreateDate: isoTime(r.CreatedAt),
		Description: r.Description, MaxSessionDuration: r.MaxSessionDuration}
	if withTrust {
		x.AssumeRolePolicyDocument = encodeDoc(r.TrustPolicy)
	}
	return x
}

func maxSessionParam(c *call) (int, error) {
	v := c.f.get("MaxSessionDuration")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, validationErr("1 validation error detected: Value '" + sanitize(v) + "' at 'maxSessionDuration' failed to satisfy constraint: Member must be a number")
	}
	if err := iam.CheckMaxSessionDuration(n); err != nil {
		return 0, err
	}
	return n, nil
}

func updateRole(c *call) (any, error) {
	name, err := roles.nameParam(c)
	if err != nil {
		return nil, err
	}
	maxSession, err := maxSessionParam(c)
	if err != nil {
		return nil, err
	}
	var desc *string
	if c.f.has("Description") {
		d := c.f.get("Description")
		if len(d) > iam.MaxDescriptionLen {
			return nil, validationErr("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000")
		}
		desc = &d
	}
	if err := c.allow("iam:UpdateRole", roles.arn(c, name)); err != nil {
		return nil, err
	}
	if err := c.h.svc.Store().UpdateRole(c.r.Context(), c.account(), name, desc, maxSession); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func updateAssumeRolePolicy(c *call) (any, error) {
	name, err := roles.nameParam(c)
	if err != nil {
		return nil, err
	}
	doc, err := c.required("PolicyDocument")
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:UpdateAssumeRolePolicy", roles.arn(c, name)); err != nil {
		return nil, err
	}
	return nil, c.h.svc.UpdateTrustPolicy(c.r.Context(), c.account(), name, doc)
}
