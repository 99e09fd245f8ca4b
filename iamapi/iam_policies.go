package iamapi

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/postern/postern/iam"
)

// Inline policies of users, groups and roles; managed policies, their
// versions and attachments.

func policyNameParam(c *call) (string, error) {
	return nameParam(c, "PolicyName", "policyName", iam.MaxPolicyNameLen)
}

func putInline(t iam.EntityType) opFunc {
	return func(c *call) (any, error) {
		entity, err := entityParam(c, t)
		if err != nil {
			return nil, err
		}
		name, err := policyNameParam(c)
		if err != nil {
			return nil, err
		}
		doc, err := c.required("PolicyDocument")
		if err != nil {
			return nil, err
		}
		if err := c.allow("iam:Put"+title(t)+"Policy", c.entityARN(t, entity)); err != nil {
			return nil, err
		}
		return nil, c.h.svc.PutInlinePolicy(c.r.Context(), c.account(), t, entity, name, doc)
	}
}

// inlineTarget reads the entity and policy name of GetXPolicy and
// DeleteXPolicy and authorizes iam:<verb><Entity>Policy on the entity.
func inlineTarget(c *call, t iam.EntityType, verb string) (entity, name string, err error) {
	if entity, err = entityParam(c, t); err != nil {
		return "", "", err
	}
	if name, err = policyNameParam(c); err != nil {
		return "", "", err
	}
	if err := c.allow("iam:"+verb+title(t)+"Policy", c.entityARN(t, entity)); err != nil {
		return "", "", err
	}
	return entity, name, nil
}

func getInline(t iam.EntityType) opFunc {
	return func(c *call) (any, error) {
		entity, name, err := inlineTarget(c, t, "Get")
		if err != nil {
			return nil, err
		}
		doc, err := c.h.svc.Store().GetInlinePolicy(c.r.Context(), c.account(), t, entity, name)
		if err != nil {
			return nil, err
		}
		type result struct {
			UserName       string `xml:"UserName,omitempty"`
			GroupName      string `xml:"GroupName,omitempty"`
			RoleName       string `xml:"RoleName,omitempty"`
			PolicyName     string `xml:"PolicyName"`
			PolicyDocument string `xml:"PolicyDocument"`
		}
		r := result{PolicyName: name, PolicyDocument: encodeDoc(doc)}
		switch t {
		case iam.EntityUser:
			r.UserName = entity
		case iam.EntityGroup:
			r.GroupName = entity
		default:
			r.RoleName = entity
		}
		return r, nil
	}
}

func listInline(t iam.EntityType) opFunc {
	return func(c *call) (any, error) {
		entity, err := entityParam(c, t)
		if err != nil {
			return nil, err
		}
		if err := c.allow("iam:List"+title(t)+"Policies", c.entityARN(t, entity)); err != nil {
			return nil, err
		}
		names, err := c.h.svc.Store().ListInlinePolicies(c.r.Context(), c.account(), t, entity)
		if err != nil {
			return nil, err
		}
		sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
		names, pg, err := paginate(c.f, names, func(s string) string { return s })
		if err != nil {
			return nil, err
		}
		return listOf("PolicyNames", names, pg), nil
	}
}

func deleteInline(t iam.EntityType) opFunc {
	return func(c *call) (any, error) {
		entity, name, err := inlineTarget(c, t, "Delete")
		if err != nil {
			return nil, err
		}
		return nil, c.h.svc.Store().DeleteInlinePolicy(c.r.Context(), c.account(), t, entity, name)
	}
}

// --- managed policies -------------------------------------------------------

func createPolicy(c *call) (any, error) {
	name, err := policyNameParam(c)
	if err != nil {
		return nil, err
	}
	doc, err := c.required("PolicyDocument")
	if err != nil {
		return nil, err
	}
	path, err := c.creating("policy", name)
	if err != nil {
		return nil, err
	}
	p, err := c.h.svc.CreatePolicy(c.r.Context(), c.account(), name, path, c.f.get("Description"), doc)
	if err != nil {
		return nil, err
	}
	return one("Policy", policyXML(p)), nil
}

func getPolicy(c *call) (any, error) {
	arn, err := c.policyARN()
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:GetPolicy", arn); err != nil {
		return nil, err
	}
	p, err := c.h.svc.Store().GetPolicy(c.r.Context(), arn)
	if err != nil {
		return nil, err
	}
	return one("Policy", policyXML(p)), nil
}

func listPolicies(c *call) (any, error) {
	scope := c.f.get("Scope")
	switch scope {
	case "", "All", "Local", "AWS":
	default:
		return nil, validationErr("1 validation error detected: Value '" + sanitize(scope) + "' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]")
	}
	onlyAttached := false
	if v := c.f.get("OnlyAttached"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, validationErr("OnlyAttached must be true or false.")
		}
		onlyAttached = b
	}
	if err := c.allow("iam:ListPolicies", iam.EntityARN(c.account(), "policy", "/", "*")); err != nil {
		return nil, err
	}
	var policies []iam.ManagedPolicy
	if scope != "AWS" { // there are no AWS managed policies here
		var err error
		policies, err = c.h.svc.Store().ListPolicies(c.r.Context(), c.account(), c.f.get("PathPrefix"), onlyAttached)
		if err != nil {
			return nil, err
		}
	}
	policies, pg, err := paginate(c.f, policies, func(p iam.ManagedPolicy) string { return p.Name })
	if err != nil {
		return nil, err
	}
	return listOf("Policies", mapXML(policies, policyXML), pg), nil
}

func deletePolicy(c *call) (any, error) {
	arn, err := c.policyARN()
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:DeletePolicy", arn); err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().DeletePolicy(c.r.Context(), arn)
}

func versionParam(c *call) (string, error) {
	v, err := c.required("VersionId")
	if err != nil {
		return "", err
	}
	if len(v) < 2 || v[0] != 'v' || strings.Trim(v[1:], "0123456789") != "" || len(v) > 16 {
		return "", validationErr("1 validation error detected: Value '" + sanitize(v) + "' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?")
	}
	return v, nil
}

func boolParam(c *call, name string) (bool, error) {
	v := c.f.get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, validationErr(name + " must be true or false.")
	}
	return b, nil
}

func createPolicyVersion(c *call) (any, error) {
	arn, err := c.policyARN()
	if err != nil {
		return nil, err
	}
	doc, err := c.required("PolicyDocument")
	if err != nil {
		return nil, err
	}
	setDefault, err := boolParam(c, "SetAsDefault")
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:CreatePolicyVersion", arn); err != nil {
		return nil, err
	}
	v, err := c.h.svc.CreatePolicyVersion(c.r.Context(), arn, doc, setDefault)
	if err != nil {
		return nil, err
	}
	return one("PolicyVersion", xPolicyVersion{VersionID: v.VersionID, IsDefaultVersion: v.IsDefault, CreateDate: isoTime(v.CreatedAt)}), nil
}

func getPolicyVersion(c *call) (any, error) {
	arn, err := c.policyARN()
	if err != nil {
		return nil, err
	}
	version, err := versionParam(c)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:GetPolicyVersion", arn); err != nil {
		return nil, err
	}
	v, err := c.h.svc.Store().GetPolicyVersion(c.r.Context(), arn, version)
	if err != nil {
		return nil, err
	}
	return one("PolicyVersion", xPolicyVersion{Document: encodeDoc(v.Document), VersionID: v.VersionID, IsDefaultVersion: v.IsDefault, CreateDate: isoTime(v.CreatedAt)}), nil
}

func listPolicyVersions(c *call) (any, error) {
	arn, err := c.policyARN()
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:ListPolicyVersions", arn); err != nil {
		return nil, err
	}
	versions, err := c.h.svc.Store().ListPolicyVersions(c.r.Context(), arn)
	if err != nil {
		return nil, err
	}
	return listOf("Versions", mapXML(versions, func(v iam.PolicyVersion) xPolicyVersion {
		return xPolicyVersion{VersionID: v.VersionID, IsDefaultVersion: v.IsDefault, CreateDate: isoTime(v.CreatedAt)}
	}), page{}), nil
}

func deletePolicyVersion(c *call) (any, error) {
	arn, err := c.policyARN()
	if err != nil {
		return nil, err
	}
	version, err := versionParam(c)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:DeletePolicyVersion", arn); err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().DeletePolicyVersion(c.r.Context(), arn, version)
}

func setDefaultPolicyVersion(c *call) (any, error) {
	arn, err := c.policyARN()
	if err != nil {
		return nil, err
	}
	version, err := versionParam(c)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:SetDefaultPolicyVersion", arn); err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().SetDefaultPolicyVersion(c.r.Context(), arn, version, c.h.svc.Now().UTC())
}

// attachment returns AttachXPolicy or DetachXPolicy (verb "Attach" or
// "Detach") for entities of type t; change is the store's AttachPolicy or
// DetachPolicy.
func attachment(t iam.EntityType, verb string, change func(st iam.Store, ctx context.Context, account string, t iam.EntityType, entity, arn string) error) opFunc {
	return func(c *call) (any, error) {
		entity, err := entityParam(c, t)
		if err != nil {
			return nil, err
		}
		arn, err := c.policyARN()
		if err != nil {
			return nil, err
		}
		if err := c.allow("iam:"+verb+title(t)+"Policy", c.entityARN(t, entity)); err != nil {
			return nil, err
		}
		return nil, change(c.h.svc.Store(), c.r.Context(), c.account(), t, entity, arn)
	}
}

func listAttached(t iam.EntityType) opFunc {
	return func(c *call) (any, error) {
		entity, err := entityParam(c, t)
		if err != nil {
			return nil, err
		}
		if err := c.allow("iam:ListAttached"+title(t)+"Policies", c.entityARN(t, entity)); err != nil {
			return nil, err
		}
		list, err := c.h.svc.Store().ListAttachedPolicies(c.r.Context(), c.account(), t, entity)
		if err != nil {
			return nil, err
		}
		prefix := c.f.get("PathPrefix")
		out := []xAttachedPolicy{}
		for _, a := range list {
			if _, path, _, ok := iam.ParsePolicyARN(a.ARN); ok && strings.HasPrefix(path, prefix) {
				out = append(out, xAttachedPolicy{PolicyName: a.Name, PolicyArn: a.ARN})
			}
		}
		return listOf("AttachedPolicies", out, page{}), nil
	}
}

func listEntitiesForPolicy(c *call) (any, error) {
	arn, err := c.policyARN()
	if err != nil {
		return nil, err
	}
	filter := c.f.get("EntityFilter")
	switch filter {
	case "", "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy":
	default:
		return nil, validationErr("1 validation error detected: Value '" + sanitize(filter) + "' at 'entityFilter' failed to satisfy constraint: Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]")
	}
	if err := c.allow("iam:ListEntitiesForPolicy", arn); err != nil {
		return nil, err
	}
	ents, err := c.h.svc.Store().ListEntitiesForPolicy(c.r.Context(), arn)
	if err != nil {
		return nil, err
	}
	type xg struct {
		GroupName string `xml:"GroupName"`
		GroupID   string `xml:"GroupId"`
	}
	type xu struct {
		UserName string `xml:"UserName"`
		UserID   string `xml:"UserId"`
	}
	type xr struct {
		RoleName string `xml:"RoleName"`
		RoleID   string `xml:"RoleId"`
	}
	out := struct {
		Groups []xg `xml:"PolicyGroups>member"`
		Users  []xu `xml:"PolicyUsers>member"`
		Roles  []xr `xml:"PolicyRoles>member"`
		page
	}{Groups: []xg{}, Users: []xu{}, Roles: []xr{}}
	if filter == "" || filter == "Group" {
		for _, e := range ents.Groups {
			out.Groups = append(out.Groups, xg{e.Name, e.ID})
		}
	}
	if filter == "" || filter == "User" {
		for _, e := range ents.Users {
			out.Users = append(out.Users, xu{e.Name, e.ID})
		}
	}
	if filter == "" || filter == "Role" {
		for _, e := range ents.Roles {
			out.Roles = append(out.Roles, xr{e.Name, e.ID})
		}
	}
	return out, nil
}

func policyXML(p iam.ManagedPolicy) xPolicy {
	return xPolicy{PolicyName: p.Name, PolicyID: p.ID, Arn: p.ARN(), Path: p.Path, DefaultVersionID: p.DefaultVersion,
		AttachmentCount: p.AttachmentCount, IsAttachable: true, Description: p.Description,
		CreateDate: isoTime(p.CreatedAt), UpdateDate: isoTime(p.UpdatedAt)}
}
