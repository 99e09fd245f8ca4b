package iamapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/postern/postern/authz"
	"github.com/postern/postern/iam"
	"github.com/postern/postern/policy"
)

// getCallerIdentity needs no permission, as in AWS.
func getCallerIdentity(c *call) (any, error) {
	return struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	}{c.p.ARN, c.p.UserID, c.p.AccountID}, nil
}

func durationParam(c *call) (int, error) {
	v := c.f.get("DurationSeconds")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, validationErr("1 validation error detected: Value '" + sanitize(v) + "' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to " + strconv.Itoa(c.h.svc.MinSessionSeconds()))
	}
	return n, nil
}

func credentialsXML(t iam.TempCredentials) xCredentials {
	return xCredentials{AccessKeyID: t.AccessKeyID, SecretAccessKey: t.SecretAccessKey, SessionToken: t.SessionToken, Expiration: isoTime(t.Expiration)}
}

// getSessionToken needs no Allow (as in AWS) but honours an explicit Deny.
func getSessionToken(c *call) (any, error) {
	d, err := durationParam(c)
	if err != nil {
		return nil, err
	}
	if c.f.get("SerialNumber") != "" || c.f.get("TokenCode") != "" {
		return nil, validationErr("MFA is not supported by this server.")
	}
	if err := c.authorize("sts:GetSessionToken", "*"); err != nil {
		var denied *authz.Denied
		if !errors.As(err, &denied) || denied.Explicit {
			return nil, err
		}
	}
	creds, err := c.h.svc.GetSessionToken(c.p, d)
	if err != nil {
		return nil, err
	}
	return struct {
		Credentials xCredentials `xml:"Credentials"`
	}{credentialsXML(creds)}, nil
}

// assumeRole checks the role's trust policy and the caller's identity
// policies in one authorization call, with the trust policy as the role's
// resource-based policy.
func assumeRole(c *call) (any, error) {
	roleARN, err := c.required("RoleArn")
	if err != nil {
		return nil, err
	}
	session, err := c.required("RoleSessionName")
	if err != nil {
		return nil, err
	}
	if !iam.ValidSessionName(session) {
		return nil, validationErr("1 validation error detected: Value '" + sanitize(session) + "' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
	}
	if len(roleARN) < 20 || len(roleARN) > 2048 {
		return nil, validationErr("1 validation error detected: Value '" + sanitize(roleARN) + "' at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048")
	}
	d, err := durationParam(c)
	if err != nil {
		return nil, err
	}
	if len(c.f.list("PolicyArns")) > 0 || c.f.has("PolicyArns.member.1.arn") {
		return nil, validationErr("Managed session policies (PolicyArns) are not supported; pass an inline session Policy.")
	}
	sessionPolicy := c.f.get("Policy")
	if c.f.has("Policy") && sessionPolicy == "" {
		return nil, validationErr("1 validation error detected: Value '' at 'policy' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if c.p.Kind == iam.KindRoot {
		return nil, errf(http.StatusForbidden, "AccessDenied", "Roles may not be assumed by root accounts.")
	}

	denied := func() error {
		return errf(http.StatusForbidden, "AccessDenied", "User: "+c.p.ARN+" is not authorized to perform: sts:AssumeRole on resource: "+sanitize(roleARN))
	}
	role, ok := c.findRole(roleARN)
	if !ok {
		return nil, denied() // AWS does not reveal whether the role exists
	}
	trust, err := c.h.svc.TrustPolicy(role.TrustPolicy)
	if err != nil {
		return nil, err
	}
	ctx := c.conditions()
	if v := c.f.get("ExternalId"); v != "" {
		policy.MapContext(ctx).Set("sts:ExternalId", v)
	}
	if v := c.f.get("SourceIdentity"); v != "" {
		policy.MapContext(ctx).Set("sts:SourceIdentity", v)
	}
	err = c.h.engine.Authorize(c.r.Context(), &authz.Request{
		Principal:       c.p,
		Action:          "sts:AssumeRole",
		Resource:        role.ARN(),
		ResourceAccount: role.AccountID,
		ResourcePolicy:  trust,
		Context:         ctx,
		// The trust policy must allow: an identity-policy allow of
		// sts:AssumeRole is never enough on its own, and a trust policy
		// naming an account needs that account's identity allow too.
		ResourceMustAllow: true,
	})
	if err != nil {
		return nil, err
	}
	creds, sp, packed, err := c.h.svc.AssumeRole(c.p, role, session, d, sessionPolicy)
	if err != nil {
		return nil, err
	}
	type assumedRoleUser struct {
		AssumedRoleID string `xml:"AssumedRoleId"`
		Arn           string `xml:"Arn"`
	}
	out := struct {
		Credentials      xCredentials    `xml:"Credentials"`
		AssumedRoleUser  assumedRoleUser `xml:"AssumedRoleUser"`
		PackedPolicySize *int            `xml:"PackedPolicySize,omitempty"`
	}{Credentials: credentialsXML(creds), AssumedRoleUser: assumedRoleUser{sp.UserID, sp.ARN}}
	if sessionPolicy != "" {
		out.PackedPolicySize = &packed
	}
	return out, nil
}

// findRole resolves a role ARN (arn:aws:iam::ACCOUNT:role/PATH/NAME) to the
// role, which must exist with exactly that path.
func (c *call) findRole(arn string) (iam.Role, bool) {
	const prefix = "arn:aws:iam::"
	if len(arn) < len(prefix)+iam.AccountIDLen+len(":role/")+1 || arn[:len(prefix)] != prefix {
		return iam.Role{}, false
	}
	rest := arn[len(prefix):]
	acct, rest := rest[:iam.AccountIDLen], rest[iam.AccountIDLen:]
	if !iam.ValidAccountID(acct) || len(rest) < len(":role/")+1 || rest[:len(":role/")] != ":role/" {
		return iam.Role{}, false
	}
	pathName := rest[len(":role"):] // "/PATH/NAME"
	i := len(pathName) - 1
	for i >= 0 && pathName[i] != '/' {
		i--
	}
	name := pathName[i+1:]
	if !iam.ValidName(name, iam.MaxRoleNameLen) {
		return iam.Role{}, false
	}
	role, err := c.h.svc.Store().GetRole(c.r.Context(), acct, name)
	if err != nil || role.ARN() != arn {
		return iam.Role{}, false
	}
	return role, true
}
