package iamapi

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/postern/postern/iam"
)

type opFunc func(c *call) (any, error)

// operations maps service → Action → handler.
var operations = map[string]map[string]opFunc{
	"iam": {
		"CreateUser": createUser, "GetUser": getUser, "ListUsers": listUsers, "UpdateUser": updateUser, "DeleteUser": deleteUser,
		"CreateAccessKey": createAccessKey, "ListAccessKeys": listAccessKeys, "UpdateAccessKey": updateAccessKey,
		"DeleteAccessKey": deleteAccessKey, "GetAccessKeyLastUsed": getAccessKeyLastUsed,
		"CreateGroup": createGroup, "GetGroup": getGroup, "ListGroups": listGroups, "DeleteGroup": deleteGroup,
		"AddUserToGroup": addUserToGroup, "RemoveUserFromGroup": removeUserFromGroup, "ListGroupsForUser": listGroupsForUser,
		"PutUserPolicy": putInline(iam.EntityUser), "GetUserPolicy": getInline(iam.EntityUser),
		"ListUserPolicies": listInline(iam.EntityUser), "DeleteUserPolicy": deleteInline(iam.EntityUser),
		"PutGroupPolicy": putInline(iam.EntityGroup), "GetGroupPolicy": getInline(iam.EntityGroup),
		"ListGroupPolicies": listInline(iam.EntityGroup), "DeleteGroupPolicy": deleteInline(iam.EntityGroup),
		"PutRolePolicy": putInline(iam.EntityRole), "GetRolePolicy": getInline(iam.EntityRole),
		"ListRolePolicies": listInline(iam.EntityRole), "DeleteRolePolicy": deleteInline(iam.EntityRole),
		"CreatePolicy": createPolicy, "GetPolicy": getPolicy, "ListPolicies": listPolicies, "DeletePolicy": deletePolicy,
		"CreatePolicyVersion": createPolicyVersion, "GetPolicyVersion": getPolicyVersion,
		"ListPolicyVersions": listPolicyVersions, "DeletePolicyVersion": deletePolicyVersion,
		"SetDefaultPolicyVersion": setDefaultPolicyVersion,
		"AttachUserPolicy":        attach(iam.EntityUser), "DetachUserPolicy": detach(iam.EntityUser),
		"AttachGroupPolicy": attach(iam.EntityGroup), "DetachGroupPolicy": detach(iam.EntityGroup),
		"AttachRolePolicy": attach(iam.EntityRole), "DetachRolePolicy": detach(iam.EntityRole),
		"ListAttachedUserPolicies": listAttached(iam.EntityUser), "ListAttachedGroupPolicies": listAttached(iam.EntityGroup),
		"ListAttachedRolePolicies": listAttached(iam.EntityRole), "ListEntitiesForPolicy": listEntitiesForPolicy,
		"CreateRole": createRole, "GetRole": getRole, "ListRoles": listRoles, "UpdateRole": updateRole,
		"DeleteRole": deleteRole, "UpdateAssumeRolePolicy": updateAssumeRolePolicy,
		"CreateAccount": createAccount,
	},
	"sts": {
		"GetCallerIdentity": getCallerIdentity, "GetSessionToken": getSessionToken, "AssumeRole": assumeRole,
	},
}

// --- helpers ----------------------------------------------------------------

func (c *call) account() string { return c.p.AccountID }

// iamGate applies the rules that hold before any policy is consulted: the
// credentials of GetSessionToken cannot call IAM (AWS requires MFA for
// that, which Postern does not offer).
func (c *call) iamGate() error {
	if c.p.Temporary() && c.p.Kind != iam.KindAssumedRole {
		return errf(http.StatusForbidden, "AccessDenied", "Credentials from GetSessionToken cannot call the IAM API.")
	}
	return nil
}

// allow runs the IAM gate and the authorization call.
func (c *call) allow(action, resource string) error {
	if err := c.iamGate(); err != nil {
		return err
	}
	return c.authorize(action, resource)
}

// required returns a required parameter or a ValidationError naming it.
func (c *call) required(name string) (string, error) {
	v := c.f.get(name)
	if v == "" {
		field := strings.ToLower(name[:1]) + name[1:]
		return "", validationErr("1 validation error detected: Value null at '" + field + "' failed to satisfy constraint: Member must not be null")
	}
	return v, nil
}

// entityARN returns the ARN of an existing entity (with its path) or, when it
// does not exist, the ARN it would have at path "/", so that authorization
// is decided before existence is revealed.
func (c *call) entityARN(t iam.EntityType, name string) string {
	st := c.h.svc.Store()
	ctx := c.r.Context()
	path := "/"
	switch t {
	case iam.EntityUser:
		if u, err := st.GetUser(ctx, c.account(), name); err == nil {
			path, name = u.Path, u.Name
		}
	case iam.EntityGroup:
		if g, err := st.GetGroup(ctx, c.account(), name); err == nil {
			path, name = g.Path, g.Name
		}
	case iam.EntityRole:
		if r, err := st.GetRole(ctx, c.account(), name); err == nil {
			path, name = r.Path, r.Name
		}
	}
	return iam.EntityARN(c.account(), string(t), path, name)
}

// policyARN validates a PolicyArn parameter: it must name a customer managed
// policy of the caller's account (AWS managed policies do not exist here).
func (c *call) policyARN() (string, error) {
	arn, err := c.required("PolicyArn")
	if err != nil {
		return "", err
	}
	acct, _, _, ok := iam.ParsePolicyARN(arn)
	if !ok {
		return "", errf(http.StatusBadRequest, "InvalidInput", "ARN "+sanitize(arn)+" is not valid.")
	}
	if acct != c.account() {
		return "", errf(http.StatusNotFound, "NoSuchEntity", "Policy "+sanitize(arn)+" does not exist or is not attachable.")
	}
	return arn, nil
}

// userParam returns UserName, defaulting to the calling IAM user as IAM does
// for the actions where it is optional.
func (c *call) userParam() (string, error) {
	if v := c.f.get("UserName"); v != "" {
		return v, iam.CheckName("userName", v, iam.MaxUserNameLen)
	}
	if c.p.Kind == iam.KindUser {
		return c.p.Name, nil
	}
	return "", validationErr("Must specify userName when calling with non-User credentials")
}

func userXML(u iam.User) xUser {
	return xUser{Path: u.Path, UserName: u.Name, UserID: u.ID, Arn: u.ARN(), CreateDate: isoTime(u.CreatedAt)}
}

func groupXML(g iam.Group) xGroup {
	return xGroup{Path: g.Path, GroupName: g.Name, GroupID: g.ID, Arn: g.ARN(), CreateDate: isoTime(g.CreatedAt)}
}

func roleXML(r iam.Role, withTrust bool) xRole {
	x := xRole{Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: r.ARN(), CreateDate: isoTime(r.CreatedAt),
		Description: r.Description, MaxSessionDuration: r.MaxSessionDuration}
	if withTrust {
		x.AssumeRolePolicyDocument = encodeDoc(r.TrustPolicy)
	}
	return x
}

func policyXML(p iam.ManagedPolicy) xPolicy {
	return xPolicy{PolicyName: p.Name, PolicyID: p.ID, Arn: p.ARN(), Path: p.Path, DefaultVersionID: p.DefaultVersion,
		AttachmentCount: p.AttachmentCount, IsAttachable: true, Description: p.Description,
		CreateDate: isoTime(p.CreatedAt), UpdateDate: isoTime(p.UpdatedAt)}
}

func nameParam(c *call, param, field string, max int) (string, error) {
	v, err := c.required(param)
	if err != nil {
		return "", err
	}
	return v, iam.CheckName(field, v, max)
}

func entityParam(c *call, t iam.EntityType) (string, error) {
	switch t {
	case iam.EntityUser:
		return nameParam(c, "UserName", "userName", iam.MaxUserNameLen)
	case iam.EntityGroup:
		return nameParam(c, "GroupName", "groupName", iam.MaxGroupNameLen)
	}
	return nameParam(c, "RoleName", "roleName", iam.MaxRoleNameLen)
}

// capitalized entity type, as in action names ("User").
func title(t iam.EntityType) string { return strings.ToUpper(string(t[:1])) + string(t[1:]) }

// --- users ------------------------------------------------------------------

func createUser(c *call) (any, error) {
	name, err := nameParam(c, "UserName", "userName", iam.MaxUserNameLen)
	if err != nil {
		return nil, err
	}
	path, err := iam.CheckPath("path", c.f.get("Path"))
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:CreateUser", iam.EntityARN(c.account(), "user", path, name)); err != nil {
		return nil, err
	}
	u, err := c.h.svc.CreateUser(c.r.Context(), c.account(), name, path)
	if err != nil {
		return nil, err
	}
	return struct {
		User xUser `xml:"User"`
	}{userXML(u)}, nil
}

func getUser(c *call) (any, error) {
	name := c.f.get("UserName")
	if name == "" && c.p.Kind != iam.KindUser {
		if c.p.Kind == iam.KindRoot {
			// IAM answers with the root user itself.
			if err := c.allow("iam:GetUser", c.p.ARN); err != nil {
				return nil, err
			}
			return struct {
				User xUser `xml:"User"`
			}{xUser{UserID: c.p.AccountID, Arn: c.p.ARN, CreateDate: isoTime(c.h.svc.Now())}}, nil
		}
		return nil, validationErr("Must specify userName when calling with non-User credentials")
	}
	if name == "" {
		name = c.p.Name
	}
	if err := iam.CheckName("userName", name, iam.MaxUserNameLen); err != nil {
		return nil, err
	}
	if err := c.allow("iam:GetUser", c.entityARN(iam.EntityUser, name)); err != nil {
		return nil, err
	}
	u, err := c.h.svc.Store().GetUser(c.r.Context(), c.account(), name)
	if err != nil {
		return nil, err
	}
	return struct {
		User xUser `xml:"User"`
	}{userXML(u)}, nil
}

func listUsers(c *call) (any, error) {
	if err := c.allow("iam:ListUsers", iam.EntityARN(c.account(), "user", "/", "*")); err != nil {
		return nil, err
	}
	users, err := c.h.svc.Store().ListUsers(c.r.Context(), c.account(), c.f.get("PathPrefix"))
	if err != nil {
		return nil, err
	}
	users, pg, err := paginate(c.f, users, func(u iam.User) string { return u.Name })
	if err != nil {
		return nil, err
	}
	out := struct {
		Users []xUser `xml:"Users>member"`
		page
	}{Users: []xUser{}, page: pg}
	for _, u := range users {
		out.Users = append(out.Users, userXML(u))
	}
	return out, nil
}

func updateUser(c *call) (any, error) {
	name, err := nameParam(c, "UserName", "userName", iam.MaxUserNameLen)
	if err != nil {
		return nil, err
	}
	newName, newPath := c.f.get("NewUserName"), c.f.get("NewPath")
	if newName != "" {
		if err := iam.CheckName("newUserName", newName, iam.MaxUserNameLen); err != nil {
			return nil, err
		}
	}
	if newPath != "" {
		if _, err := iam.CheckPath("newPath", newPath); err != nil {
			return nil, err
		}
	}
	if err := c.allow("iam:UpdateUser", c.entityARN(iam.EntityUser, name)); err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().UpdateUser(c.r.Context(), c.account(), name, newName, newPath)
}

func deleteUser(c *call) (any, error) {
	name, err := nameParam(c, "UserName", "userName", iam.MaxUserNameLen)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:DeleteUser", c.entityARN(iam.EntityUser, name)); err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().DeleteUser(c.r.Context(), c.account(), name)
}

// --- access keys ------------------------------------------------------------

func createAccessKey(c *call) (any, error) {
	user, err := c.userParam()
	if err != nil {
		if c.p.Kind == iam.KindRoot && c.f.get("UserName") == "" {
			return nil, validationErr("Root access keys are set in the server's configuration (POSTERN_ROOT_ACCESS_KEY); specify a UserName.")
		}
		return nil, err
	}
	if err := c.allow("iam:CreateAccessKey", c.entityARN(iam.EntityUser, user)); err != nil {
		return nil, err
	}
	k, secret, err := c.h.svc.CreateAccessKey(c.r.Context(), c.account(), user)
	if err != nil {
		return nil, err
	}
	u, err := c.h.svc.Store().GetUser(c.r.Context(), c.account(), user)
	if err == nil {
		user = u.Name
	}
	return struct {
		AccessKey xAccessKey `xml:"AccessKey"`
	}{xAccessKey{UserName: user, AccessKeyID: k.ID, Status: k.Status, SecretAccessKey: secret, CreateDate: isoTime(k.CreatedAt)}}, nil
}

func listAccessKeys(c *call) (any, error) {
	user, err := c.userParam()
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:ListAccessKeys", c.entityARN(iam.EntityUser, user)); err != nil {
		return nil, err
	}
	keys, err := c.h.svc.Store().ListAccessKeys(c.r.Context(), c.account(), user)
	if err != nil {
		return nil, err
	}
	out := struct {
		Keys []xAccessKey `xml:"AccessKeyMetadata>member"`
		page
	}{Keys: []xAccessKey{}}
	for _, k := range keys {
		out.Keys = append(out.Keys, xAccessKey{UserName: k.UserName, AccessKeyID: k.ID, Status: k.Status, CreateDate: isoTime(k.CreatedAt)})
	}
	return out, nil
}

func accessKeyParam(c *call) (string, error) {
	id, err := c.required("AccessKeyId")
	if err != nil {
		return "", err
	}
	if len(id) < 16 || len(id) > 128 || !validName(id) {
		return "", validationErr("1 validation error detected: Value '" + sanitize(id) + "' at 'accessKeyId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w]+")
	}
	return id, nil
}

func updateAccessKey(c *call) (any, error) {
	id, err := accessKeyParam(c)
	if err != nil {
		return nil, err
	}
	status, err := c.required("Status")
	if err != nil {
		return nil, err
	}
	if status != iam.StatusActive && status != iam.StatusInactive {
		return nil, validationErr("1 validation error detected: Value '" + sanitize(status) + "' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]")
	}
	user, err := c.userParam()
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:UpdateAccessKey", c.entityARN(iam.EntityUser, user)); err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().UpdateAccessKey(c.r.Context(), c.account(), user, id, status)
}

func deleteAccessKey(c *call) (any, error) {
	id, err := accessKeyParam(c)
	if err != nil {
		return nil, err
	}
	user, err := c.userParam()
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:DeleteAccessKey", c.entityARN(iam.EntityUser, user)); err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().DeleteAccessKey(c.r.Context(), c.account(), user, id)
}

func getAccessKeyLastUsed(c *call) (any, error) {
	id, err := accessKeyParam(c)
	if err != nil {
		return nil, err
	}
	k, err := c.h.svc.Store().GetAccessKey(c.r.Context(), id)
	if err != nil || k.AccountID != c.account() {
		if err := c.allow("iam:GetAccessKeyLastUsed", iam.EntityARN(c.account(), "user", "/", "*")); err != nil {
			return nil, err
		}
		return nil, errf(http.StatusNotFound, "NoSuchEntity", "The Access Key with id "+id+" cannot be found.")
	}
	u := iam.User{AccountID: k.AccountID, Name: k.UserName, Path: k.UserPath}
	if err := c.allow("iam:GetAccessKeyLastUsed", u.ARN()); err != nil {
		return nil, err
	}
	type lastUsed struct {
		LastUsedDate string `xml:"LastUsedDate,omitempty"`
		ServiceName  string `xml:"ServiceName"`
		Region       string `xml:"Region"`
	}
	lu := lastUsed{ServiceName: "N/A", Region: "N/A"}
	if !k.LastUsed.IsZero() {
		lu = lastUsed{LastUsedDate: isoTime(k.LastUsed), ServiceName: k.LastService, Region: k.LastRegion}
	}
	return struct {
		UserName          string   `xml:"UserName"`
		AccessKeyLastUsed lastUsed `xml:"AccessKeyLastUsed"`
	}{k.UserName, lu}, nil
}

// --- groups -----------------------------------------------------------------

func createGroup(c *call) (any, error) {
	name, err := nameParam(c, "GroupName", "groupName", iam.MaxGroupNameLen)
	if err != nil {
		return nil, err
	}
	path, err := iam.CheckPath("path", c.f.get("Path"))
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:CreateGroup", iam.EntityARN(c.account(), "group", path, name)); err != nil {
		return nil, err
	}
	g, err := c.h.svc.CreateGroup(c.r.Context(), c.account(), name, path)
	if err != nil {
		return nil, err
	}
	return struct {
		Group xGroup `xml:"Group"`
	}{groupXML(g)}, nil
}

func getGroup(c *call) (any, error) {
	name, err := nameParam(c, "GroupName", "groupName", iam.MaxGroupNameLen)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:GetGroup", c.entityARN(iam.EntityGroup, name)); err != nil {
		return nil, err
	}
	g, err := c.h.svc.Store().GetGroup(c.r.Context(), c.account(), name)
	if err != nil {
		return nil, err
	}
	members, err := c.h.svc.Store().ListGroupMembers(c.r.Context(), c.account(), name)
	if err != nil {
		return nil, err
	}
	members, pg, err := paginate(c.f, members, func(u iam.User) string { return u.Name })
	if err != nil {
		return nil, err
	}
	out := struct {
		Group xGroup  `xml:"Group"`
		Users []xUser `xml:"Users>member"`
		page
	}{Group: groupXML(g), Users: []xUser{}, page: pg}
	for _, u := range members {
		out.Users = append(out.Users, userXML(u))
	}
	return out, nil
}

func groupsResult(c *call, groups []iam.Group) (any, error) {
	groups, pg, err := paginate(c.f, groups, func(g iam.Group) string { return g.Name })
	if err != nil {
		return nil, err
	}
	out := struct {
		Groups []xGroup `xml:"Groups>member"`
		page
	}{Groups: []xGroup{}, page: pg}
	for _, g := range groups {
		out.Groups = append(out.Groups, groupXML(g))
	}
	return out, nil
}

func listGroups(c *call) (any, error) {
	if err := c.allow("iam:ListGroups", iam.EntityARN(c.account(), "group", "/", "*")); err != nil {
		return nil, err
	}
	groups, err := c.h.svc.Store().ListGroups(c.r.Context(), c.account(), c.f.get("PathPrefix"))
	if err != nil {
		return nil, err
	}
	return groupsResult(c, groups)
}

func deleteGroup(c *call) (any, error) {
	name, err := nameParam(c, "GroupName", "groupName", iam.MaxGroupNameLen)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:DeleteGroup", c.entityARN(iam.EntityGroup, name)); err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().DeleteGroup(c.r.Context(), c.account(), name)
}

func membership(c *call, action string) (group, user string, err error) {
	if group, err = nameParam(c, "GroupName", "groupName", iam.MaxGroupNameLen); err != nil {
		return
	}
	if user, err = nameParam(c, "UserName", "userName", iam.MaxUserNameLen); err != nil {
		return
	}
	err = c.allow(action, c.entityARN(iam.EntityGroup, group))
	return
}

func addUserToGroup(c *call) (any, error) {
	group, user, err := membership(c, "iam:AddUserToGroup")
	if err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().AddUserToGroup(c.r.Context(), c.account(), group, user)
}

func removeUserFromGroup(c *call) (any, error) {
	group, user, err := membership(c, "iam:RemoveUserFromGroup")
	if err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().RemoveUserFromGroup(c.r.Context(), c.account(), group, user)
}

func listGroupsForUser(c *call) (any, error) {
	user, err := nameParam(c, "UserName", "userName", iam.MaxUserNameLen)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:ListGroupsForUser", c.entityARN(iam.EntityUser, user)); err != nil {
		return nil, err
	}
	groups, err := c.h.svc.Store().ListGroupsForUser(c.r.Context(), c.account(), user)
	if err != nil {
		return nil, err
	}
	return groupsResult(c, groups)
}

// --- inline policies --------------------------------------------------------

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

func getInline(t iam.EntityType) opFunc {
	return func(c *call) (any, error) {
		entity, err := entityParam(c, t)
		if err != nil {
			return nil, err
		}
		name, err := policyNameParam(c)
		if err != nil {
			return nil, err
		}
		if err := c.allow("iam:Get"+title(t)+"Policy", c.entityARN(t, entity)); err != nil {
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
		if names == nil {
			names = []string{}
		}
		return struct {
			PolicyNames []string `xml:"PolicyNames>member"`
			page
		}{names, pg}, nil
	}
}

func deleteInline(t iam.EntityType) opFunc {
	return func(c *call) (any, error) {
		entity, err := entityParam(c, t)
		if err != nil {
			return nil, err
		}
		name, err := policyNameParam(c)
		if err != nil {
			return nil, err
		}
		if err := c.allow("iam:Delete"+title(t)+"Policy", c.entityARN(t, entity)); err != nil {
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
	path, err := iam.CheckPath("path", c.f.get("Path"))
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:CreatePolicy", iam.EntityARN(c.account(), "policy", path, name)); err != nil {
		return nil, err
	}
	p, err := c.h.svc.CreatePolicy(c.r.Context(), c.account(), name, path, c.f.get("Description"), doc)
	if err != nil {
		return nil, err
	}
	return struct {
		Policy xPolicy `xml:"Policy"`
	}{policyXML(p)}, nil
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
	return struct {
		Policy xPolicy `xml:"Policy"`
	}{policyXML(p)}, nil
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
	out := struct {
		Policies []xPolicy `xml:"Policies>member"`
		page
	}{Policies: []xPolicy{}, page: pg}
	for _, p := range policies {
		out.Policies = append(out.Policies, policyXML(p))
	}
	return out, nil
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
	return struct {
		PolicyVersion xPolicyVersion `xml:"PolicyVersion"`
	}{xPolicyVersion{VersionID: v.VersionID, IsDefaultVersion: v.IsDefault, CreateDate: isoTime(v.CreatedAt)}}, nil
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
	return struct {
		PolicyVersion xPolicyVersion `xml:"PolicyVersion"`
	}{xPolicyVersion{Document: encodeDoc(v.Document), VersionID: v.VersionID, IsDefaultVersion: v.IsDefault, CreateDate: isoTime(v.CreatedAt)}}, nil
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
	out := struct {
		Versions []xPolicyVersion `xml:"Versions>member"`
		page
	}{Versions: []xPolicyVersion{}}
	for _, v := range versions {
		out.Versions = append(out.Versions, xPolicyVersion{VersionID: v.VersionID, IsDefaultVersion: v.IsDefault, CreateDate: isoTime(v.CreatedAt)})
	}
	return out, nil
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

func attach(t iam.EntityType) opFunc {
	return func(c *call) (any, error) {
		entity, err := entityParam(c, t)
		if err != nil {
			return nil, err
		}
		arn, err := c.policyARN()
		if err != nil {
			return nil, err
		}
		if err := c.allow("iam:Attach"+title(t)+"Policy", c.entityARN(t, entity)); err != nil {
			return nil, err
		}
		return nil, c.h.svc.Store().AttachPolicy(c.r.Context(), c.account(), t, entity, arn)
	}
}

func detach(t iam.EntityType) opFunc {
	return func(c *call) (any, error) {
		entity, err := entityParam(c, t)
		if err != nil {
			return nil, err
		}
		arn, err := c.policyARN()
		if err != nil {
			return nil, err
		}
		if err := c.allow("iam:Detach"+title(t)+"Policy", c.entityARN(t, entity)); err != nil {
			return nil, err
		}
		return nil, c.h.svc.Store().DetachPolicy(c.r.Context(), c.account(), t, entity, arn)
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
		out := struct {
			Policies []xAttachedPolicy `xml:"AttachedPolicies>member"`
			page
		}{Policies: []xAttachedPolicy{}}
		for _, a := range list {
			if _, path, _, ok := iam.ParsePolicyARN(a.ARN); ok && strings.HasPrefix(path, prefix) {
				out.Policies = append(out.Policies, xAttachedPolicy{PolicyName: a.Name, PolicyArn: a.ARN})
			}
		}
		return out, nil
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

// --- roles ------------------------------------------------------------------

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

func createRole(c *call) (any, error) {
	name, err := nameParam(c, "RoleName", "roleName", iam.MaxRoleNameLen)
	if err != nil {
		return nil, err
	}
	trust, err := c.required("AssumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	path, err := iam.CheckPath("path", c.f.get("Path"))
	if err != nil {
		return nil, err
	}
	maxSession, err := maxSessionParam(c)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:CreateRole", iam.EntityARN(c.account(), "role", path, name)); err != nil {
		return nil, err
	}
	r, err := c.h.svc.CreateRole(c.r.Context(), c.account(), name, path, trust, c.f.get("Description"), maxSession)
	if err != nil {
		return nil, err
	}
	return struct {
		Role xRole `xml:"Role"`
	}{roleXML(r, true)}, nil
}

func getRole(c *call) (any, error) {
	name, err := nameParam(c, "RoleName", "roleName", iam.MaxRoleNameLen)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:GetRole", c.entityARN(iam.EntityRole, name)); err != nil {
		return nil, err
	}
	r, err := c.h.svc.Store().GetRole(c.r.Context(), c.account(), name)
	if err != nil {
		return nil, err
	}
	return struct {
		Role xRole `xml:"Role"`
	}{roleXML(r, true)}, nil
}

func listRoles(c *call) (any, error) {
	if err := c.allow("iam:ListRoles", iam.EntityARN(c.account(), "role", "/", "*")); err != nil {
		return nil, err
	}
	roles, err := c.h.svc.Store().ListRoles(c.r.Context(), c.account(), c.f.get("PathPrefix"))
	if err != nil {
		return nil, err
	}
	roles, pg, err := paginate(c.f, roles, func(r iam.Role) string { return r.Name })
	if err != nil {
		return nil, err
	}
	out := struct {
		Roles []xRole `xml:"Roles>member"`
		page
	}{Roles: []xRole{}, page: pg}
	for _, r := range roles {
		out.Roles = append(out.Roles, roleXML(r, true))
	}
	return out, nil
}

func updateRole(c *call) (any, error) {
	name, err := nameParam(c, "RoleName", "roleName", iam.MaxRoleNameLen)
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
	if err := c.allow("iam:UpdateRole", c.entityARN(iam.EntityRole, name)); err != nil {
		return nil, err
	}
	if err := c.h.svc.Store().UpdateRole(c.r.Context(), c.account(), name, desc, maxSession); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func deleteRole(c *call) (any, error) {
	name, err := nameParam(c, "RoleName", "roleName", iam.MaxRoleNameLen)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:DeleteRole", c.entityARN(iam.EntityRole, name)); err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().DeleteRole(c.r.Context(), c.account(), name)
}

func updateAssumeRolePolicy(c *call) (any, error) {
	name, err := nameParam(c, "RoleName", "roleName", iam.MaxRoleNameLen)
	if err != nil {
		return nil, err
	}
	doc, err := c.required("PolicyDocument")
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:UpdateAssumeRolePolicy", c.entityARN(iam.EntityRole, name)); err != nil {
		return nil, err
	}
	return nil, c.h.svc.UpdateTrustPolicy(c.r.Context(), c.account(), name, doc)
}

// --- Postern extension ------------------------------------------------------

// createAccount creates a new account with a root access key. Only the
// default account's root user (with long-term credentials) may call it.
func createAccount(c *call) (any, error) {
	id, err := c.required("AccountId")
	if err != nil {
		return nil, err
	}
	if c.p.Kind != iam.KindRoot || c.p.Temporary() || c.p.AccountID != c.h.svc.DefaultAccount() {
		return nil, errf(http.StatusForbidden, "AccessDenied", "User: "+c.p.ARN+" is not authorized to perform: postern:CreateAccount (only the default account's root user may create accounts)")
	}
	if !iam.ValidAccountID(id) {
		return nil, validationErr("1 validation error detected: Value '" + sanitize(id) + "' at 'accountId' failed to satisfy constraint: Member must consist of exactly 12 digits")
	}
	a, secret, err := c.h.svc.CreateAccount(c.r.Context(), id)
	if errors.Is(err, iam.ErrEntityAlreadyExists) {
		return nil, errf(http.StatusConflict, "EntityAlreadyExists", "Account "+id+" already exists.")
	}
	if err != nil {
		return nil, err
	}
	return struct {
		AccountID       string `xml:"AccountId"`
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
	}{a.ID, a.RootAccessKey, secret}, nil
}
