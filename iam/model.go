package iam

import (
	"strings"
	"time"
)

// Limits, with the AWS value each mirrors (IAM and STS quotas, "IAM and AWS
// STS quotas" in the IAM User Guide, and the API reference's constraints).
const (
	MaxAccessKeysPerUser       = 2     // AccessKeysPerUser
	MaxPolicyVersions          = 5     // versions per managed policy
	MaxAttachedPolicies        = 10    // managed policies per user, group or role
	MaxGroupsPerUser           = 10    // groups a user can be a member of
	MaxTrustPolicySize         = 2048  // role trust policy length (default quota)
	MaxSessionPolicySize       = 2048  // AssumeRole Policy parameter, packed
	MaxUserNameLen             = 64    // UserName
	MaxRoleNameLen             = 64    // RoleName
	MaxGroupNameLen            = 128   // GroupName
	MaxPolicyNameLen           = 128   // PolicyName
	MaxPathLen                 = 512   // Path
	MaxDescriptionLen          = 1000  // Description
	MinRoleMaxSession          = 3600  // MaxSessionDuration, seconds
	MaxRoleMaxSession          = 43200 // MaxSessionDuration, seconds
	DefaultRoleMaxSession      = 3600
	MaxSessionTokenUser        = 129600 // GetSessionToken, IAM user, seconds (36 h)
	DefaultSessionTokenUser    = 43200  // GetSessionToken default (12 h)
	MaxSessionTokenRoot        = 3600   // GetSessionToken, root user (1 h)
	MinSessionDuration         = 900    // STS floor, seconds (15 min)
	DefaultAssumeRoleDuration  = 3600
	MaxRoleChainingDuration    = 3600 // role chaining: at most 1 h
	MinRoleSessionNameLen      = 2
	MaxRoleSessionNameLen      = 64
	MaxPolicyDocumentParamSize = 131072 // PolicyDocument parameter length
)

// AccountIDLen is the length of an account id: 12 decimal digits.
const AccountIDLen = 12

// ValidAccountID reports whether id is 12 decimal digits.
func ValidAccountID(id string) bool {
	if len(id) != AccountIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// Account is a tenant: it owns users, groups, roles, policies and buckets.
// The default account's root credentials come from the server's
// configuration; other accounts' root keys are stored (secret encrypted).
type Account struct {
	ID        string
	CreatedAt time.Time
	// RootAccessKey and RootSecret are empty for the default account.
	RootAccessKey string
	RootSecret    []byte // ciphertext (see Service)
}

// User is an IAM user.
type User struct {
	ID        string // AIDA…
	AccountID string
	Name      string
	Path      string
	CreatedAt time.Time
}

// ARN returns arn:aws:iam::ACCOUNT:user/PATH/NAME.
func (u *User) ARN() string { return EntityARN(u.AccountID, "user", u.Path, u.Name) }

// Access key statuses.
const (
	StatusActive   = "Active"
	StatusInactive = "Inactive"
)

// AccessKey is a user's long-term access key.
type AccessKey struct {
	ID        string // AKIA…
	UserID    string
	UserName  string
	AccountID string
	UserPath  string
	// Secret is the secret key encrypted with the server key; Service
	// decrypts it. It is never returned by the API after creation.
	Secret      []byte
	Status      string
	CreatedAt   time.Time
	LastUsed    time.Time
	LastService string
	LastRegion  string
}

// Group is an IAM group.
type Group struct {
	ID        string // AGPA…
	AccountID string
	Name      string
	Path      string
	CreatedAt time.Time
}

// ARN returns arn:aws:iam::ACCOUNT:group/PATH/NAME.
func (g *Group) ARN() string { return EntityARN(g.AccountID, "group", g.Path, g.Name) }

// Role is an IAM role.
type Role struct {
	ID                 string // AROA…
	AccountID          string
	Name               string
	Path               string
	Description        string
	TrustPolicy        string
	MaxSessionDuration int // seconds
	CreatedAt          time.Time
}

// ARN returns arn:aws:iam::ACCOUNT:role/PATH/NAME.
func (r *Role) ARN() string { return EntityARN(r.AccountID, "role", r.Path, r.Name) }

// ManagedPolicy is a customer managed policy.
type ManagedPolicy struct {
	ID              string // ANPA…
	AccountID       string
	Name            string
	Path            string
	Description     string
	DefaultVersion  string // "v1"…
	AttachmentCount int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// ARN returns arn:aws:iam::ACCOUNT:policy/PATH/NAME.
func (p *ManagedPolicy) ARN() string { return EntityARN(p.AccountID, "policy", p.Path, p.Name) }

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	VersionID string
	Document  string
	IsDefault bool
	CreatedAt time.Time
}

// EntityType names the kinds of identity that carry policies.
type EntityType string

const (
	EntityUser  EntityType = "user"
	EntityGroup EntityType = "group"
	EntityRole  EntityType = "role"
)

// AttachedPolicy names a managed policy attached to an entity.
type AttachedPolicy struct {
	Name string
	ARN  string
}

// PolicyEntities lists what a managed policy is attached to.
type PolicyEntities struct {
	Users, Groups, Roles []EntityRef
}

// EntityRef is a name and unique id.
type EntityRef struct {
	Name, ID string
}

// EntityARN builds an IAM ARN: arn:aws:iam::ACCOUNT:TYPE + PATH + NAME, where
// PATH begins and ends with '/'.
func EntityARN(account, typ, path, name string) string {
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + account + ":" + typ + path + name
}

// RootARN returns arn:aws:iam::ACCOUNT:root.
func RootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

// SessionARN returns arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION.
func SessionARN(account, roleName, session string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + roleName + "/" + session
}

// ParsePolicyARN splits arn:aws:iam::ACCOUNT:policy/PATH/NAME into account,
// path and name.
func ParsePolicyARN(arn string) (account, path, name string, ok bool) {
	rest, found := strings.CutPrefix(arn, "arn:aws:iam::")
	if !found {
		return "", "", "", false
	}
	account, rest, found = strings.Cut(rest, ":")
	if !found {
		return "", "", "", false
	}
	rest, found = strings.CutPrefix(rest, "policy/")
	if !found || rest == "" {
		return "", "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	path, name = "/"+rest[:i+1], rest[i+1:]
	if name == "" {
		return "", "", "", false
	}
	return account, path, name, true
}
