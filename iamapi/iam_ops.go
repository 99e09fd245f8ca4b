package iamapi

import (
	"errors"
	"maps"
	"net/http"
	"strings"

	"github.com/postern/postern/iam"
)

// The IAM and STS operations, one file per entity: iam_users.go (users and
// their access keys), iam_groups.go, iam_roles.go and iam_policies.go; the
// CRUD that users, groups and roles share is described once in entity.go.

type opFunc func(c *call) (any, error)

// operations maps service → Action → handler.
var operations = map[string]map[string]opFunc{
	"iam": iamOperations(),
	"sts": {
		"GetCallerIdentity": getCallerIdentity, "GetSessionToken": getSessionToken, "AssumeRole": assumeRole,
	},
}

func iamOperations() map[string]opFunc {
	ops := map[string]opFunc{}
	for _, m := range []map[string]opFunc{users.ops(), groups.ops(), roles.ops()} {
		maps.Copy(ops, m)
	}
	// Then the actions particular to one entity type (GetUser and GetGroup
	// replace the shared ones) and those shared by all.
	maps.Copy(ops, map[string]opFunc{
		"GetUser": getUser, "UpdateUser": updateUser,
		"CreateAccessKey": createAccessKey, "ListAccessKeys": listAccessKeys, "UpdateAccessKey": updateAccessKey,
		"DeleteAccessKey": deleteAccessKey, "GetAccessKeyLastUsed": getAccessKeyLastUsed,
		"GetGroup": getGroup, "AddUserToGroup": addUserToGroup, "RemoveUserFromGroup": removeUserFromGroup,
		"ListGroupsForUser": listGroupsForUser,
		"UpdateRole":        updateRole, "UpdateAssumeRolePolicy": updateAssumeRolePolicy,
		"CreatePolicy": createPolicy, "GetPolicy": getPolicy, "ListPolicies": listPolicies, "DeletePolicy": deletePolicy,
		"CreatePolicyVersion": createPolicyVersion, "GetPolicyVersion": getPolicyVersion,
		"ListPolicyVersions": listPolicyVersions, "DeletePolicyVersion": deletePolicyVersion,
		"SetDefaultPolicyVersion": setDefaultPolicyVersion, "ListEntitiesForPolicy": listEntitiesForPolicy,
		"CreateAccount": createAccount,
	})
	for _, t := range []iam.EntityType{iam.EntityUser, iam.EntityGroup, iam.EntityRole} {
		x := title(t)
		ops["Put"+x+"Policy"], ops["Get"+x+"Policy"] = putInline(t), getInline(t)
		ops["List"+x+"Policies"], ops["Delete"+x+"Policy"] = listInline(t), deleteInline(t)
		ops["Attach"+x+"Policy"] = attachment(t, "Attach", iam.Store.AttachPolicy)
		ops["Detach"+x+"Policy"] = attachment(t, "Detach", iam.Store.DetachPolicy)
		ops["ListAttached"+x+"Policies"] = listAttached(t)
	}
	return ops
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

func nameParam(c *call, param, field string, max int) (string, error) {
	v, err := c.required(param)
	if err != nil {
		return "", err
	}
	return v, iam.CheckName(field, v, max)
}

// capitalized entity type, as in action names ("User").
func title(t iam.EntityType) string { return strings.ToUpper(string(t[:1])) + string(t[1:]) }

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
