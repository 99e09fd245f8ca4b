// Package iam holds Postern's identities: who signed a request, and the
// credential lookup the signature verifier uses to find a secret key.
//
// Identities: each account's root user, IAM users with long-term access
// keys, and temporary credentials (session tokens) from STS GetSessionToken
// and AssumeRole. Service implements Directory (credential lookup) and
// authz.Identities (the policies in force for a principal) over a Store.
//
// Accounts are 12-digit ids. The default account (--account-id, default
// 000000000000) has the root credentials given to the server
// (POSTERN_ROOT_ACCESS_KEY / POSTERN_ROOT_SECRET_KEY); other accounts are
// created with the CreateAccount extension action and keep their root key in
// the store.
package iam

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/postern/postern/share"
)

// DefaultAccountID is the account that owns the root credentials given to the server.
const DefaultAccountID = "000000000000"

// Kind says what sort of principal signed a request.
type Kind string

const (
	KindAnonymous   Kind = "anonymous"
	KindRoot        Kind = "root"
	KindUser        Kind = "user"
	KindAssumedRole Kind = "assumed-role"
)

// Principal is an authenticated identity.
type Principal struct {
	Kind      Kind
	AccountID string
	ARN       string // arn:aws:iam::123456789012:root, …:user/path/name, …
	UserID    string // unique id (aws:userid)
	Name      string // user name (aws:username); empty for root and roles
	// RoleARN is the role of an assumed-role session.
	RoleARN   string
	AccessKey string
	// Expires is when temporary credentials end; zero for long-term keys.
	Expires time.Time
	// IssuedAt is when temporary credentials were issued (aws:TokenIssueTime).
	IssuedAt time.Time
	// SessionName is the RoleSessionName of an assumed-role session.
	SessionName string
	// SessionPolicy is the session policy document passed to AssumeRole
	// (empty when none): it narrows what the role's policies grant.
	SessionPolicy string
	// Share is the share link whose access key signed the request (nil for
	// every other credential): the principal is then the share's creator as
	// it is now, and the request must also be within the share's scope
	// (share.Share.Permits) and, for a counted use, claim one.
	Share *share.Share

	// The long-term access key (and its user) that temporary credentials
	// derive from, and the role id of a role session: for revocation checks
	// and policy lookup. Set only by Service.
	parentKey, parentUserID, roleID string
}

// Temporary reports whether p signed with STS temporary credentials.
func (p *Principal) Temporary() bool { return p != nil && !p.Expires.IsZero() }

// Anonymous is the principal of unsigned requests.
var Anonymous = &Principal{Kind: KindAnonymous, ARN: "*"}

// IsRoot reports whether p is an account's root user.
func (p *Principal) IsRoot() bool { return p != nil && p.Kind == KindRoot }

// ErrUnknownKey is returned by a Directory for an access key it does not know.
var ErrUnknownKey = errors.New("iam: unknown access key")

// Directory finds the secret and principal for an access key.
type Directory interface {
	// Credentials returns the secret key and principal of accessKey, checking
	// sessionToken for temporary credentials. Unknown keys → ErrUnknownKey.
	Credentials(ctx context.Context, accessKey, sessionToken string) (secret string, p *Principal, err error)
}

// Root is a Directory that knows only the default account's root credentials.
type Root struct {
	AccountID string
	AccessKey string
	SecretKey string
}

// Credentials implements Directory.
func (r *Root) Credentials(_ context.Context, accessKey, sessionToken string) (string, *Principal, error) {
	if sessionToken != "" || subtle.ConstantTimeCompare([]byte(accessKey), []byte(r.AccessKey)) != 1 {
		return "", nil, ErrUnknownKey
	}
	return r.SecretKey, &Principal{
		Kind:      KindRoot,
		AccountID: r.AccountID,
		ARN:       RootARN(r.AccountID),
		UserID:    r.AccountID,
		AccessKey: r.AccessKey,
	}, nil
}
