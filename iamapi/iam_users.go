package iamapi

import (
	"net/http"

	"github.com/postern/postern/iam"
)

// Users and their access keys.

var users = entity[iam.User, xUser]{
	t: iam.EntityUser, param: "UserName", maxLen: iam.MaxUserNameLen,
	create: func(c *call, name string) (iam.User, error) {
		path, err := c.creating(iam.EntityUser, name)
		if err != nil {
			return iam.User{}, err
		}
		return c.h.svc.CreateUser(c.r.Context(), c.account(), name, path)
	},
	get: iam.Store.GetUser, list: iam.Store.ListUsers, del: iam.Store.DeleteUser,
	name: func(u iam.User) string { return u.Name }, path: func(u iam.User) string { return u.Path }, xml: userXML,
}

func userXML(u iam.User) xUser {
	return xUser{Path: u.Path, UserName: u.Name, UserID: u.ID, Arn: u.ARN(), CreateDate: isoTime(u.CreatedAt)}
}

// getUser is GetUser: UserName defaults to the caller, and the root user
// gets an answer about itself.
func getUser(c *call) (any, error) {
	name := c.f.get("UserName")
	if name == "" && c.p.Kind != iam.KindUser {
		if c.p.Kind == iam.KindRoot {
			// IAM answers with the root user itself.
			if err := c.allow("iam:GetUser", c.p.ARN); err != nil {
				return nil, err
			}
			return one("User", xUser{UserID: c.p.AccountID, Arn: c.p.ARN, CreateDate: isoTime(c.h.svc.Now())}), nil
		}
		return nil, validationErr("Must specify userName when calling with non-User credentials")
	}
	if name == "" {
		name = c.p.Name
	}
	if err := iam.CheckName("userName", name, iam.MaxUserNameLen); err != nil {
		return nil, err
	}
	if err := c.allow("iam:GetUser", users.arn(c, name)); err != nil {
		return nil, err
	}
	u, err := c.h.svc.Store().GetUser(c.r.Context(), c.account(), name)
	if err != nil {
		return nil, err
	}
	return one("User", userXML(u)), nil
}

func updateUser(c *call) (any, error) {
	name, err := users.nameParam(c)
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
	if err := c.allow("iam:UpdateUser", users.arn(c, name)); err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().UpdateUser(c.r.Context(), c.account(), name, newName, newPath)
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
	if err := c.allow("iam:CreateAccessKey", users.arn(c, user)); err != nil {
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
	if err := c.allow("iam:ListAccessKeys", users.arn(c, user)); err != nil {
		return nil, err
	}
	keys, err := c.h.svc.Store().ListAccessKeys(c.r.Context(), c.account(), user)
	if err != nil {
		return nil, err
	}
	return listOf("AccessKeyMetadata", mapXML(keys, func(k iam.AccessKey) xAccessKey {
		return xAccessKey{UserName: k.UserName, AccessKeyID: k.ID, Status: k.Status, CreateDate: isoTime(k.CreatedAt)}
	}), page{}), nil
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
	if err := c.allow("iam:UpdateAccessKey", users.arn(c, user)); err != nil {
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
	if err := c.allow("iam:DeleteAccessKey", users.arn(c, user)); err != nil {
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
