package iam

import (
	"context"
	"time"
)

// Store persists accounts, users, keys, groups, roles and policies. Methods
// address entities by account and name (names compare case-insensitively,
// as in IAM) and fail with *Error values: NoSuchEntity, EntityAlreadyExists,
// LimitExceeded and DeleteConflict, with IAM's messages.
//
// The store keeps what it is given: it generates no ids or secrets and does
// no cryptography (Service does), so an implementation is plain persistence.
// Credentials and policies are read through the store on every request, so
// a revoke takes effect on the next one: every method must see the latest
// committed state, or — for a store shared by several nodes that caches —
// a state no older than its invalidation bound (meta/postgres: the
// LISTEN/NOTIFY event, at most 0.5 s when its connection stalls;
// docs/security.md).
type Store interface {
	// Accounts.
	CreateAccount(ctx context.Context, a Account) error
	GetAccount(ctx context.Context, id string) (Account, error)
	AccountByRootKey(ctx context.Context, accessKey string) (Account, error)
	// ListAccounts returns every account, by id (postern migrate copies
	// them all).
	ListAccounts(ctx context.Context) ([]Account, error)

	// Users. DeleteUser fails with DeleteConflict while the user has access
	// keys, policies or group memberships, as IAM does.
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, account, name string) (User, error)
	GetUserByID(ctx context.Context, id string) (User, error)
	ListUsers(ctx context.Context, account, pathPrefix string) ([]User, error)
	UpdateUser(ctx context.Context, account, name, newName, newPath string) error
	DeleteUser(ctx context.Context, account, name string) error

	// Access keys. CreateAccessKey enforces MaxAccessKeysPerUser.
	CreateAccessKey(ctx context.Context, account, userName string, k AccessKey) error
	// GetAccessKey returns the key with its user's name, id, path and account.
	GetAccessKey(ctx context.Context, id string) (AccessKey, error)
	ListAccessKeys(ctx context.Context, account, userName string) ([]AccessKey, error)
	UpdateAccessKey(ctx context.Context, account, userName, id, status string) error
	DeleteAccessKey(ctx context.Context, account, userName, id string) error
	TouchAccessKey(ctx context.Context, id string, when time.Time, service, region string) error

	// Groups. DeleteGroup fails with DeleteConflict while the group has
	// members or policies.
	CreateGroup(ctx context.Context, g Group) error
	GetGroup(ctx context.Context, account, name string) (Group, error)
	ListGroups(ctx context.Context, account, pathPrefix string) ([]Group, error)
	DeleteGroup(ctx context.Context, account, name string) error
	AddUserToGroup(ctx context.Context, account, group, user string) error
	RemoveUserFromGroup(ctx context.Context, account, group, user string) error
	ListGroupsForUser(ctx context.Context, account, user string) ([]Group, error)
	ListGroupMembers(ctx context.Context, account, group string) ([]User, error)

	// Roles. DeleteRole fails with DeleteConflict while the role has policies.
	CreateRole(ctx context.Context, r Role) error
	GetRole(ctx context.Context, account, name string) (Role, error)
	GetRoleByID(ctx context.Context, id string) (Role, error)
	ListRoles(ctx context.Context, account, pathPrefix string) ([]Role, error)
	UpdateRole(ctx context.Context, account, name string, description *string, maxSession int) error
	UpdateTrustPolicy(ctx context.Context, account, name, doc string) error
	DeleteRole(ctx context.Context, account, name string) error

	// Inline policies of users, groups and roles. size is the document's
	// size as IAM counts it and limit the aggregate quota of the entity's
	// inline policies (LimitExceeded past it).
	PutInlinePolicy(ctx context.Context, account string, t EntityType, entity, name, doc string, size, limit int) error
	GetInlinePolicy(ctx context.Context, account string, t EntityType, entity, name string) (string, error)
	ListInlinePolicies(ctx context.Context, account string, t EntityType, entity string) ([]string, error)
	DeleteInlinePolicy(ctx context.Context, account string, t EntityType, entity, name string) error

	// Managed policies. DeletePolicy fails with DeleteConflict while the
	// policy is attached or has versions besides the default.
	CreatePolicy(ctx context.Context, p ManagedPolicy, doc string) error
	// ImportPolicy creates a managed policy with exactly these versions
	// (ids, documents, times; p.DefaultVersion names the default), so that
	// a copy keeps the version ids of its original; the next version
	// created is numbered after the highest. EntityAlreadyExists when the
	// name is taken. Used by postern migrate.
	ImportPolicy(ctx context.Context, p ManagedPolicy, versions []PolicyVersion) error
	GetPolicy(ctx context.Context, arn string) (ManagedPolicy, error)
	ListPolicies(ctx context.Context, account, pathPrefix string, onlyAttached bool) ([]ManagedPolicy, error)
	DeletePolicy(ctx context.Context, arn string) error
	// CreatePolicyVersion adds the next version (LimitExceeded past
	// MaxPolicyVersions) and returns it.
	CreatePolicyVersion(ctx context.Context, arn, doc string, setDefault bool, now time.Time) (PolicyVersion, error)
	GetPolicyVersion(ctx context.Context, arn, version string) (PolicyVersion, error)
	ListPolicyVersions(ctx context.Context, arn string) ([]PolicyVersion, error)
	DeletePolicyVersion(ctx context.Context, arn, version string) error
	SetDefaultPolicyVersion(ctx context.Context, arn, version string, now time.Time) error
	AttachPolicy(ctx context.Context, account string, t EntityType, entity, arn string) error
	DetachPolicy(ctx context.Context, account string, t EntityType, entity, arn string) error
	ListAttachedPolicies(ctx context.Context, account string, t EntityType, entity string) ([]AttachedPolicy, error)
	ListEntitiesForPolicy(ctx context.Context, arn string) (PolicyEntities, error)

	// PolicyDocuments returns, in one read, every identity-based policy
	// document in force for the user or role with unique id: its inline
	// policies, the default versions of its attached managed policies and,
	// for a user, the inline and attached policies of its groups.
	PolicyDocuments(ctx context.Context, id string) ([]string, error)

	// ServerKeyCheck returns the server key check value the store keeps (a
	// constant sealed with the server key, see Service.Init); when it keeps
	// none yet, it keeps check and returns it, in one atomic step, so that
	// of several nodes starting at once the first one's value wins.
	ServerKeyCheck(ctx context.Context, check []byte) ([]byte, error)
}
