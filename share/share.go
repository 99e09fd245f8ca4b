// Package share is Postern's tracked share links: presigned URLs that their
// creator can see, limit and revoke one at a time, while each stays a plain
// SigV4 presigned URL that any browser, curl or S3 tool uses unchanged.
//
// A share is signed with a credential of its own: an access key made for
// that share alone (AccessKeyPrefix…), whose secret is derived from the
// server key and the access key (so it is never stored), bound to its
// creator and scoped to one action on one object — or, for a browser POST
// upload, one key prefix. A request signed with a share's key must pass
// both the share's scope (Permits) and its creator's current permissions,
// and the share must be live (State) and, for a counted use, claim one of
// its uses (Store.ClaimUse) in the database, so that counting is exact
// across nodes.
//
// This file is pure: types, the scope check and the state rules. The Store
// contract is implemented by meta/sqlite and meta/postgres and checked by
// share/sharetest.
package share

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// AccessKeyPrefix starts every share's access key (AWS keys start with
// AKIA for long-term and ASIA for temporary credentials; PSHR never
// collides with either). A share's access key is AccessKeyPrefix and 16
// characters of [A-Z2-7]: 20 characters, like AWS's.
const AccessKeyPrefix = "PSHR"

// IsShareKey reports whether accessKey is a share's access key (by its
// form only; the store says whether it exists).
func IsShareKey(accessKey string) bool {
	return len(accessKey) == 20 && strings.HasPrefix(accessKey, AccessKeyPrefix)
}

// IDPrefix starts every share id: "shr-" and 20 characters of [a-z2-7].
const IDPrefix = "shr-"

// Methods a share allows.
const (
	MethodGet  = "GET"  // download one object (s3:GetObject)
	MethodPut  = "PUT"  // upload one key (s3:PutObject)
	MethodPost = "POST" // browser form upload under a key prefix (s3:PutObject)
)

// Limits.
const (
	MaxNoteLen    = 1024
	MaxWebhookLen = 2048
	// MaxExpiry is SigV4's limit for presigned URLs: 7 days.
	MaxExpiry = 7 * 24 * time.Hour
	// MaxAuditList is the most audit rows one ListAudit call returns.
	MaxAuditList = 1000
	// MaxList is the most shares one ListShares call returns.
	MaxList = 1000
)

// States of a share, as Share.State reports them.
const (
	StateActive  = "active"
	StateExpired = "expired"
	StateRevoked = "revoked"
	StateUsedUp  = "used up"
)

// Creator is who made a share; the share can never do more than the
// creator may do at request time. Kind is "root" or "user" (shares are
// not made with assumed-role credentials; a user's GetSessionToken
// session makes shares as that user).
type Creator struct {
	Kind   string // "root" or "user"
	ARN    string // arn:aws:iam::ACCOUNT:root or …:user/PATH/NAME at creation
	UserID string // the user's unique id (AIDA…); the account id for root
}

// Share is one tracked share link.
type Share struct {
	ID        string // IDPrefix…
	AccessKey string // AccessKeyPrefix…
	AccountID string // the creator's account
	Creator   Creator

	Method string // MethodGet, MethodPut or MethodPost
	Bucket string
	// Key is the object key for GET and PUT shares, and the key prefix for
	// POST shares (may be empty: the whole bucket).
	Key string

	// Endpoint is the base URL the link was made for
	// (http://host:port, no path), so the same URL can be shown again.
	Endpoint  string
	CreatedAt time.Time // also the link's signing time
	Expires   time.Time // CreatedAt + the link's X-Amz-Expires

	MaxUses int64 // 0: unlimited
	Uses    int64
	// MaxSize bounds an upload's size in bytes (PUT and POST); 0: no
	// bound beyond S3's own.
	MaxSize int64
	// ContentType, when set, is the only Content-Type an upload may have.
	ContentType string
	// Overwrite lets an upload replace an existing object; without it an
	// upload to a key that exists is refused (412 PreconditionFailed).
	Overwrite bool
	Note      string
	// Webhook is the URL notified of uses, revocation and running out;
	// empty for none.
	Webhook string

	RevokedAt time.Time // zero while not revoked
	RevokedBy string    // ARN of who revoked it
	LastUsed  time.Time // zero when never used
}

// State returns the share's state at now. Revoked wins over expired, and
// expired over used up.
func (s *Share) State(now time.Time) string {
	switch {
	case !s.RevokedAt.IsZero():
		return StateRevoked
	case !now.Before(s.Expires):
		return StateExpired
	case s.MaxUses > 0 && s.Uses >= s.MaxUses:
		return StateUsedUp
	}
	return StateActive
}

// Resource is the ARN that policies name for the share: the object for GET
// and PUT shares, the prefix followed by * for POST shares. An admin policy
// allowing postern:RevokeShare on arn:aws:s3:::bucket/* may revoke every
// share of that bucket.
func (s *Share) Resource() string {
	if s.Method == MethodPost {
		return "arn:aws:s3:::" + s.Bucket + "/" + s.Key + "*"
	}
	return "arn:aws:s3:::" + s.Bucket + "/" + s.Key
}

// Action is the S3 action the share allows.
func (s *Share) Action() string {
	if s.Method == MethodGet {
		return "s3:GetObject"
	}
	return "s3:PutObject"
}

// Permits reports whether a request of action on bucket/key, made with the
// HTTP method, is within the share's scope, and if not, why, in words for
// the caller. It says nothing about the share's state or the creator's
// permissions.
func (s *Share) Permits(method, action, bucket, key string) (ok bool, why string) {
	if bucket != s.Bucket {
		return false, "This share link is for another bucket."
	}
	switch s.Method {
	case MethodGet:
		if (method != "GET" && method != "HEAD") || action != "s3:GetObject" {
			return false, "This share link only downloads its object."
		}
		if key != s.Key {
			return false, "This share link is for another object."
		}
	case MethodPut:
		if method != "PUT" || action != "s3:PutObject" {
			return false, "This share link only uploads to its key."
		}
		if key != s.Key {
			return false, "This share link is for another key."
		}
	case MethodPost:
		if method != "POST" || action != "s3:PutObject" {
			return false, "This share link only accepts browser form uploads."
		}
		if !strings.HasPrefix(key, s.Key) {
			return false, "This share link uploads only under " + s.Key + "."
		}
	default:
		return false, "This share link is damaged."
	}
	return true, ""
}

// Counted reports whether a request answered 2xx uses one of the share's
// uses: every GET, PUT and POST, except a GET whose Range does not start at
// byte 0 (a browser or download manager resuming), which is allowed while
// the share is active and not counted. rangeHeader is the request's Range
// header ("" when none).
func Counted(method, rangeHeader string) bool {
	if method != "GET" || rangeHeader == "" {
		return method == "GET" || method == "PUT" || method == "POST"
	}
	spec, ok := strings.CutPrefix(strings.TrimSpace(rangeHeader), "bytes=")
	if !ok {
		return true // not a byte range: S3 ignores it and sends it all
	}
	first, _, _ := strings.Cut(spec, ",")
	start, _, ok := strings.Cut(strings.TrimSpace(first), "-")
	if !ok {
		return true // not a valid range: served whole
	}
	if start == "" {
		return false // a suffix range ("-N") resumes
	}
	for i := 0; i < len(start); i++ {
		if start[i] < '0' || start[i] > '9' {
			return true // not a valid range: served whole
		}
	}
	return strings.Trim(start, "0") == "" // "0-…" starts at byte 0
}

// Errors of a Store and of a request made with a share. Callers compare
// with errors.Is.
var (
	ErrNoSuchShare = errors.New("share: no such share")
	// ErrShareExists: CreateShare (or ImportShare) with an id or access
	// key that another share has.
	ErrShareExists = errors.New("share: a share with this id or access key exists")
	ErrRevoked     = errors.New("share: revoked")
	ErrExpired     = errors.New("share: expired")
	ErrUsedUp      = errors.New("share: used up")
)

// AuditEntry is one request made with a share. Stores keep its text
// fields (which come from clients) as CleanText makes them.
type AuditEntry struct {
	ShareID   string
	Time      time.Time
	Source    string // the client's address (after trusted proxies), no port
	UserAgent string // at most 512 bytes
	Method    string
	Status    int
	Bytes     int64  // body bytes sent (GET) or received (PUT, POST)
	Range     string // the Range header, "" when none
	RequestID string
	Counted   bool // the request used one of the share's uses
}

// CleanText returns s with each run of bytes that is not valid UTF-8, and
// each NUL character, replaced by U+FFFD: text any database keeps as it
// is. Stores apply it to audit rows' text, so that one odd request (a user
// agent of raw bytes) never fails a batch.
func CleanText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Filter selects shares to list. AccountID is required; the others narrow.
type Filter struct {
	AccountID string
	// CreatorID, when set, keeps only shares whose Creator.UserID is it.
	CreatorID string
	// Bucket and Prefix, when set, keep shares of that bucket whose Key
	// starts with Prefix.
	Bucket, Prefix string
	// After is a share id: list shares created after it (a page's cursor);
	// an id that names no share of the account is ErrNoSuchShare.
	After string
	Limit int // at most MaxList; 0 means MaxList
}

// Store keeps shares and their audit rows. Implementations: meta/sqlite and
// meta/postgres; share/sharetest checks them. Every method is one atomic
// transaction and sees the latest committed state (no node cache), so a
// revoke holds on the next request on every node.
type Store interface {
	// CreateShare stores a new share (Uses 0, not revoked, never used);
	// ErrShareExists when its id or access key is taken.
	CreateShare(ctx context.Context, s Share) error
	// GetShare returns the share with id, or ErrNoSuchShare.
	GetShare(ctx context.Context, id string) (Share, error)
	// ShareByAccessKey returns the share whose access key is accessKey, or
	// ErrNoSuchShare.
	ShareByAccessKey(ctx context.Context, accessKey string) (Share, error)
	// ListShares returns the shares f selects, oldest first (by CreatedAt,
	// then id), and whether more remain after the last one returned.
	ListShares(ctx context.Context, f Filter) (shares []Share, more bool, err error)
	// RevokeShare marks the share revoked at at by by and returns it.
	// Revoking a revoked share changes nothing (the first revocation is
	// kept) and is not an error; an unknown id is ErrNoSuchShare.
	RevokeShare(ctx context.Context, id, by string, at time.Time) (Share, error)
	// ClaimUse takes one use of the share at now, atomically: ErrRevoked,
	// ErrExpired (now ≥ Expires) or ErrUsedUp (MaxUses > 0 and Uses ≥
	// MaxUses) and nothing changes; otherwise Uses+1, LastUsed = now, and
	// the updated share is returned. Concurrent claims on any number of
	// nodes never take more than MaxUses.
	ClaimUse(ctx context.Context, id string, now time.Time) (Share, error)
	// ReleaseUse gives back a use taken by ClaimUse whose request did not
	// succeed (Uses-1, never below 0).
	ReleaseUse(ctx context.Context, id string) error
	// AddAudit records rows in one transaction. For each row with Counted
	// set whose share has MaxUses 0 (unlimited shares are not claimed on
	// the request path), Uses grows by one; LastUsed becomes the newest
	// row's Time when later. Rows of unknown shares are dropped.
	AddAudit(ctx context.Context, rows []AuditEntry) error
	// ListAudit returns the share's newest audit rows first, at most limit
	// (≤ MaxAuditList; 0 means MaxAuditList), and the total number of rows
	// the share has; ErrNoSuchShare for an unknown id.
	ListAudit(ctx context.Context, id string, limit int) (rows []AuditEntry, total int64, err error)
}

// Importer copies shares faithfully from one store to another (postern
// migrate): CreateShare cannot, since it starts every share unused and
// unrevoked, and ListAudit returns only the newest rows. Both stores
// implement it; it is apart from Store so that the request path's code and
// fakes need not.
type Importer interface {
	// ImportShare stores s as it is (its Uses, revocation and LastUsed)
	// with its audit rows (oldest first), in one transaction, without
	// counting them again; ErrShareExists when its id or access key is
	// taken (then nothing is stored).
	ImportShare(ctx context.Context, s Share, audit []AuditEntry) error
	// ExportAudit returns every audit row of the share in the order they
	// were added (ImportShare keeps that order);
	// ErrNoSuchShare for an unknown id.
	ExportAudit(ctx context.Context, id string) ([]AuditEntry, error)
}
