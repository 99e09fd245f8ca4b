package iam

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/postern/postern/policy"
	"github.com/postern/postern/share"
)

// Config configures a Service.
type Config struct {
	Store Store
	// ServerKey (ServerKeySize bytes) protects secret keys at rest and
	// session tokens. Losing it makes stored secrets and live tokens useless.
	ServerKey []byte
	// DefaultAccount is the account of RootAccessKey/RootSecretKey.
	DefaultAccount string
	RootAccessKey  string
	RootSecretKey  string
	// MinSessionDuration lowers STS's 900-second floor on DurationSeconds
	// (for tests); zero means 15 minutes.
	MinSessionDuration time.Duration
	// Shares keeps share links (both metadata stores implement it); nil
	// means share keys are unknown keys.
	Shares share.Store
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is Postern's identity service. It implements Directory (and so
// authenticates every signed request) and authz.Identities, and offers the
// operations behind the IAM and STS APIs that need ids, secrets or tokens.
// It is safe for concurrent use.
type Service struct {
	store   Store
	keys    *keyring
	account string
	rootAK  string
	rootSK  string
	rootP   *Principal // the configured root's principal, shared: read-only
	minDur  int        // seconds
	now     func() time.Time
	log     *slog.Logger
	cache   *parseCache
	shares  share.Store

	usedMu sync.Mutex
	used   map[string]time.Time // access key → last time its use was recorded
}

// NewService returns a Service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("iam: Config.Store is required")
	}
	keys, err := newKeyring(cfg.ServerKey)
	if err != nil {
		return nil, err
	}
	if cfg.DefaultAccount == "" {
		cfg.DefaultAccount = DefaultAccountID
	}
	if !ValidAccountID(cfg.DefaultAccount) {
		return nil, fmt.Errorf("iam: account id %q is not 12 digits", cfg.DefaultAccount)
	}
	s := &Service{
		store:   cfg.Store,
		keys:    keys,
		account: cfg.DefaultAccount,
		rootAK:  cfg.RootAccessKey,
		rootSK:  cfg.RootSecretKey,
		minDur:  MinSessionDuration,
		now:     cfg.Now,
		log:     cfg.Logger,
		cache:   newParseCache(),
		shares:  cfg.Shares,
		used:    map[string]time.Time{},
	}
	s.rootP = s.rootPrincipal(s.account, s.rootAK)
	if cfg.MinSessionDuration > 0 {
		s.minDur = min(MinSessionDuration, max(1, int(math.Ceil(cfg.MinSessionDuration.Seconds()))))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Init checks that the server key opens the store's secrets
// (ErrServerKeyMismatch when not) and records the default account in the
// store (so CreateAccount cannot reuse its id). Call it once at startup.
func (s *Service) Init(ctx context.Context) error {
	if err := s.checkServerKey(ctx); err != nil {
		return err
	}
	_, err := s.store.GetAccount(ctx, s.account)
	if errors.Is(err, ErrNoSuchEntity) {
		err = s.store.CreateAccount(ctx, Account{ID: s.account, CreatedAt: s.now().UTC()})
		if errors.Is(err, ErrEntityAlreadyExists) {
			return nil
		}
	}
	return err
}

// Store returns the underlying store, for reads and deletes that need no
// cryptography.
func (s *Service) Store() Store { return s.store }

// DefaultAccount returns the default account's id.
func (s *Service) DefaultAccount() string { return s.account }

// MinSessionSeconds is the smallest DurationSeconds STS accepts.
func (s *Service) MinSessionSeconds() int { return s.minDur }

// Now returns the service's clock reading.
func (s *Service) Now() time.Time { return s.now() }

// maxAccessKeyLen bounds access key ids looked up in the store.
const maxAccessKeyLen = 128

// Credentials implements Directory. Long-term keys are read from the store
// on every call, so deactivating or deleting one takes effect on the next
// request; session tokens are verified cryptographically and then their
// parent key (and role) are checked the same way.
func (s *Service) Credentials(ctx context.Context, accessKey, sessionToken string) (string, *Principal, error) {
	if accessKey == "" || len(accessKey) > maxAccessKeyLen {
		return "", nil, ErrUnknownKey
	}
	if sessionToken != "" {
		return s.sessionCredentials(ctx, accessKey, sessionToken)
	}
	if s.rootAK != "" && subtle.ConstantTimeCompare([]byte(accessKey), []byte(s.rootAK)) == 1 {
		return s.rootSK, s.rootP, nil
	}
	if strings.HasPrefix(accessKey, PrefixTempAccessKey) {
		return "", nil, ErrUnknownKey // temporary keys need their token
	}
	if share.IsShareKey(accessKey) {
		return s.shareCredentials(ctx, accessKey)
	}
	k, err := s.store.GetAccessKey(ctx, accessKey)
	if err == nil {
		if k.Status != StatusActive {
			return "", nil, ErrUnknownKey
		}
		secret, err := s.keys.decryptSecret(k.ID, k.Secret)
		if err != nil {
			return "", nil, err
		}
		u := User{ID: k.UserID, AccountID: k.AccountID, Name: k.UserName, Path: k.UserPath}
		return secret, &Principal{
			Kind:         KindUser,
			AccountID:    k.AccountID,
			ARN:          u.ARN(),
			UserID:       k.UserID,
			Name:         k.UserName,
			AccessKey:    k.ID,
			parentKey:    k.ID,
			parentUserID: k.UserID,
		}, nil
	}
	if !errors.Is(err, ErrNoSuchEntity) {
		return "", nil, err
	}
	a, err := s.store.AccountByRootKey(ctx, accessKey)
	if errors.Is(err, ErrNoSuchEntity) {
		return "", nil, ErrUnknownKey
	}
	if err != nil {
		return "", nil, err
	}
	secret, err := s.keys.decryptSecret(a.RootAccessKey, a.RootSecret)
	if err != nil {
		return "", nil, err
	}
	return secret, s.rootPrincipal(a.ID, accessKey), nil
}

func (s *Service) rootPrincipal(account, accessKey string) *Principal {
	return &Principal{Kind: KindRoot, AccountID: account, ARN: RootARN(account), UserID: account, AccessKey: accessKey}
}

func (s *Service) sessionCredentials(ctx context.Context, accessKey, token string) (string, *Principal, error) {
	c, err := s.keys.openToken(token, s.now())
	if err != nil {
		return "", nil, err
	}
	if subtle.ConstantTimeCompare([]byte(accessKey), []byte(c.AccessKey)) != 1 {
		return "", nil, ErrInvalidToken
	}
	// Temporary credentials live no longer than what they derive from.
	if c.ParentKey != "" {
		k, err := s.store.GetAccessKey(ctx, c.ParentKey)
		if errors.Is(err, ErrNoSuchEntity) {
			return "", nil, ErrInvalidToken
		}
		if err != nil {
			return "", nil, err
		}
		if k.Status != StatusActive || k.UserID != c.ParentUser {
			return "", nil, ErrInvalidToken
		}
	}
	if c.Kind == KindAssumedRole {
		r, err := s.store.GetRoleByID(ctx, c.RoleID)
		if errors.Is(err, ErrNoSuchEntity) {
			return "", nil, ErrInvalidToken // the role was deleted
		}
		if err != nil {
			return "", nil, err
		}
		if r.AccountID != c.Account {
			return "", nil, ErrInvalidToken
		}
	}
	if c.Kind == KindRoot && c.Account != s.account {
		if _, err := s.store.GetAccount(ctx, c.Account); errors.Is(err, ErrNoSuchEntity) {
			return "", nil, ErrInvalidToken
		} else if err != nil {
			return "", nil, err
		}
	}
	return c.Secret, &Principal{
		Kind:          c.Kind,
		AccountID:     c.Account,
		ARN:           c.ARN,
		UserID:        c.UserID,
		Name:          c.Name,
		RoleARN:       c.RoleARN,
		AccessKey:     c.AccessKey,
		Expires:       c.expires(),
		IssuedAt:      c.issued(),
		SessionName:   c.Session,
		SessionPolicy: c.Policy,
		parentKey:     c.ParentKey,
		parentUserID:  c.ParentUser,
		roleID:        c.RoleID,
	}, nil
}

// Policies implements authz.Identities: the identity-based policies of a
// user (its own inline and attached policies and its groups') or of a role
// session's role, read from the store on every call, and a role session's
// session policy.
func (s *Service) Policies(ctx context.Context, p *Principal) (identity, session []*policy.Policy, err error) {
	var id string
	switch p.Kind {
	case KindUser:
		id = p.UserID
	case KindAssumedRole:
		id = p.roleID
		if id == "" {
			id = roleIDOf(p.UserID)
		}
	default:
		return nil, nil, nil
	}
	docs, err := s.store.PolicyDocuments(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("iam: policies of %s: %w", p.ARN, err)
	}
	for _, d := range docs {
		pol, err := s.cache.identity(d)
		if err != nil {
			// Stored documents were validated when written; refusing the
			// request is the safe answer (ignoring a Deny would widen access).
			return nil, nil, fmt.Errorf("iam: stored policy of %s does not parse: %w", p.ARN, err)
		}
		identity = append(identity, pol)
	}
	if p.SessionPolicy != "" {
		pol, err := s.cache.identity(p.SessionPolicy)
		if err != nil {
			return nil, nil, fmt.Errorf("iam: session policy of %s: %w", p.ARN, err)
		}
		session = []*policy.Policy{pol}
	}
	return identity, session, nil
}

// TrustPolicy parses a role's trust policy (cached).
func (s *Service) TrustPolicy(doc string) (*policy.Policy, error) { return s.cache.trust(doc) }

// recordUseEvery throttles last-used updates: at most one write per key per
// interval. AWS too reports last use only approximately.
const recordUseEvery = time.Minute

// RecordUse notes that accessKey signed a verified request for service in
// region (GetAccessKeyLastUsed). Call it after the signature has been
// verified. The store is updated in the background, at most once a minute
// per key; root and temporary keys are not recorded.
func (s *Service) RecordUse(accessKey, service, region string) {
	if !strings.HasPrefix(accessKey, PrefixAccessKey) || len(accessKey) > maxAccessKeyLen {
		return
	}
	now := s.now()
	s.usedMu.Lock()
	if t, ok := s.used[accessKey]; ok && now.Sub(t) < recordUseEvery {
		s.usedMu.Unlock()
		return
	}
	if len(s.used) >= 100000 {
		clear(s.used)
	}
	s.used[accessKey] = now
	s.usedMu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.store.TouchAccessKey(ctx, accessKey, now.UTC(), service, region); err != nil && !errors.Is(err, ErrNoSuchEntity) {
			s.log.Warn("iam: recording access key use", "access_key", accessKey, "err", err)
		}
	}()
}

// --- entities -------------------------------------------------------------

// validation builds IAM's ValidationError wording.
func validation(field, value, constraint string) *Error {
	return Errorf(CodeValidationError, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

const namePattern = `Member must satisfy regular expression pattern: [\w+=,.@-]+`

// CheckName validates an entity name parameter.
func CheckName(field, v string, max int) error {
	if v == "" {
		return validation(field, v, "Member must have length greater than or equal to 1")
	}
	if len(v) > max {
		return validation(field, v, fmt.Sprintf("Member must have length less than or equal to %d", max))
	}
	if !ValidName(v, max) {
		return validation(field, v, namePattern)
	}
	return nil
}

// CheckPath validates a Path parameter; "" means "/".
func CheckPath(field, v string) (string, error) {
	if v == "" {
		return "/", nil
	}
	if !ValidPath(v) {
		return "", validation(field, v, `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	}
	return v, nil
}

// CheckIdentityPolicy validates an identity-based policy document against
// the policy language and a size quota (one of the policy.Max…Size values).
func CheckIdentityPolicy(doc string, limit int) error {
	if doc == "" {
		return validation("policyDocument", doc, "Member must have length greater than or equal to 1")
	}
	if len(doc) > MaxPolicyDocumentParamSize {
		return validation("policyDocument", "...", fmt.Sprintf("Member must have length less than or equal to %d", MaxPolicyDocumentParamSize))
	}
	if limit > 0 {
		if err := policy.CheckSize([]byte(doc), limit); err != nil {
			return Errorf(CodeLimitExceeded, "Cannot exceed quota for PolicySize: %d", limit)
		}
	}
	if _, err := policy.Parse([]byte(doc), policy.Identity); err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			return Errorf(CodeMalformedPolicyDocument, "%s", pe.Message)
		}
		return Errorf(CodeMalformedPolicyDocument, "%s", err.Error())
	}
	return nil
}

// CreateAccount creates an account with a new root access key and returns
// the key's secret (shown once; stored encrypted).
func (s *Service) CreateAccount(ctx context.Context, id string) (Account, string, error) {
	if !ValidAccountID(id) {
		return Account{}, "", validation("accountId", id, "Member must consist of exactly 12 digits")
	}
	secret := NewSecretKey()
	a := Account{ID: id, CreatedAt: s.now().UTC(), RootAccessKey: NewAccessKeyID()}
	a.RootSecret = s.keys.encryptSecret(a.RootAccessKey, secret)
	if err := s.store.CreateAccount(ctx, a); err != nil {
		return Account{}, "", err
	}
	return a, secret, nil
}

// CreateUser creates an IAM user.
func (s *Service) CreateUser(ctx context.Context, account, name, path string) (User, error) {
	if err := CheckName("userName", name, MaxUserNameLen); err != nil {
		return User{}, err
	}
	path, err := CheckPath("path", path)
	if err != nil {
		return User{}, err
	}
	u := User{ID: NewUniqueID(PrefixUser), AccountID: account, Name: name, Path: path, CreatedAt: s.now().UTC().Truncate(time.Second)}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, err
	}
	return u, nil
}

// CreateAccessKey creates an Active access key for a user and returns it
// with its secret (shown once; stored encrypted).
func (s *Service) CreateAccessKey(ctx context.Context, account, userName string) (AccessKey, string, error) {
	if err := CheckName("userName", userName, MaxUserNameLen); err != nil {
		return AccessKey{}, "", err
	}
	secret := NewSecretKey()
	k := AccessKey{ID: NewAccessKeyID(), UserName: userName, AccountID: account, Status: StatusActive, CreatedAt: s.now().UTC().Truncate(time.Second)}
	k.Secret = s.keys.encryptSecret(k.ID, secret)
	if err := s.store.CreateAccessKey(ctx, account, userName, k); err != nil {
		return AccessKey{}, "", err
	}
	return k, secret, nil
}

// CreateGroup creates a group.
func (s *Service) CreateGroup(ctx context.Context, account, name, path string) (Group, error) {
	if err := CheckName("groupName", name, MaxGroupNameLen); err != nil {
		return Group{}, err
	}
	path, err := CheckPath("path", path)
	if err != nil {
		return Group{}, err
	}
	g := Group{ID: NewUniqueID(PrefixGroup), AccountID: account, Name: name, Path: path, CreatedAt: s.now().UTC().Truncate(time.Second)}
	if err := s.store.CreateGroup(ctx, g); err != nil {
		return Group{}, err
	}
	return g, nil
}

// CheckMaxSessionDuration validates a role's MaxSessionDuration.
func CheckMaxSessionDuration(v int) error {
	if v < MinRoleMaxSession || v > MaxRoleMaxSession {
		return validation("maxSessionDuration", fmt.Sprint(v), fmt.Sprintf("Member must have value between %d and %d", MinRoleMaxSession, MaxRoleMaxSession))
	}
	return nil
}

// CreateRole creates a role. maxSession 0 means the default (1 hour).
func (s *Service) CreateRole(ctx context.Context, account, name, path, trust, description string, maxSession int) (Role, error) {
	if err := CheckName("roleName", name, MaxRoleNameLen); err != nil {
		return Role{}, err
	}
	path, err := CheckPath("path", path)
	if err != nil {
		return Role{}, err
	}
	if maxSession == 0 {
		maxSession = DefaultRoleMaxSession
	}
	if err := CheckMaxSessionDuration(maxSession); err != nil {
		return Role{}, err
	}
	if len(description) > MaxDescriptionLen {
		return Role{}, validation("description", description, fmt.Sprintf("Member must have length less than or equal to %d", MaxDescriptionLen))
	}
	if err := s.checkTrust(trust); err != nil {
		return Role{}, err
	}
	r := Role{ID: NewUniqueID(PrefixRole), AccountID: account, Name: name, Path: path, Description: description,
		TrustPolicy: trust, MaxSessionDuration: maxSession, CreatedAt: s.now().UTC().Truncate(time.Second)}
	if err := s.store.CreateRole(ctx, r); err != nil {
		return Role{}, err
	}
	return r, nil
}

func (s *Service) checkTrust(doc string) error {
	if doc == "" {
		return validation("assumeRolePolicyDocument", doc, "Member must have length greater than or equal to 1")
	}
	if len(doc) > MaxPolicyDocumentParamSize {
		return validation("assumeRolePolicyDocument", "...", fmt.Sprintf("Member must have length less than or equal to %d", MaxPolicyDocumentParamSize))
	}
	_, err := s.cache.trust(doc)
	return err
}

// UpdateTrustPolicy replaces a role's trust policy.
func (s *Service) UpdateTrustPolicy(ctx context.Context, account, role, doc string) error {
	if err := CheckName("roleName", role, MaxRoleNameLen); err != nil {
		return err
	}
	if err := s.checkTrust(doc); err != nil {
		return err
	}
	return s.store.UpdateTrustPolicy(ctx, account, role, doc)
}

// CreatePolicy creates a customer managed policy with version v1 as default.
func (s *Service) CreatePolicy(ctx context.Context, account, name, path, description, doc string) (ManagedPolicy, error) {
	if err := CheckName("policyName", name, MaxPolicyNameLen); err != nil {
		return ManagedPolicy{}, err
	}
	path, err := CheckPath("path", path)
	if err != nil {
		return ManagedPolicy{}, err
	}
	if len(description) > MaxDescriptionLen {
		return ManagedPolicy{}, validation("description", description, fmt.Sprintf("Member must have length less than or equal to %d", MaxDescriptionLen))
	}
	if err := CheckIdentityPolicy(doc, policy.MaxManagedPolicySize); err != nil {
		return ManagedPolicy{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	p := ManagedPolicy{ID: NewUniqueID(PrefixPolicy), AccountID: account, Name: name, Path: path, Description: description,
		DefaultVersion: "v1", CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreatePolicy(ctx, p, doc); err != nil {
		return ManagedPolicy{}, err
	}
	return p, nil
}

// CreatePolicyVersion adds a version to a managed policy.
func (s *Service) CreatePolicyVersion(ctx context.Context, arn, doc string, setDefault bool) (PolicyVersion, error) {
	if err := CheckIdentityPolicy(doc, policy.MaxManagedPolicySize); err != nil {
		return PolicyVersion{}, err
	}
	return s.store.CreatePolicyVersion(ctx, arn, doc, setDefault, s.now().UTC().Truncate(time.Second))
}

// InlineLimit returns the aggregate inline policy quota of an entity type.
func InlineLimit(t EntityType) int {
	switch t {
	case EntityUser:
		return policy.MaxUserInlinePolicySize
	case EntityGroup:
		return policy.MaxGroupInlinePolicySize
	}
	return policy.MaxRoleInlinePolicySize
}

// PutInlinePolicy adds or replaces an inline policy of a user, group or role.
func (s *Service) PutInlinePolicy(ctx context.Context, account string, t EntityType, entity, name, doc string) error {
	if err := CheckName("policyName", name, MaxPolicyNameLen); err != nil {
		return err
	}
	limit := InlineLimit(t)
	if err := CheckIdentityPolicy(doc, limit); err != nil {
		return err
	}
	return s.store.PutInlinePolicy(ctx, account, t, entity, name, doc, policy.PolicySize([]byte(doc)), limit)
}

// --- STS ------------------------------------------------------------------

// TempCredentials are STS temporary credentials.
type TempCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

func (s *Service) checkDuration(v, max int) error {
	if v < s.minDur {
		return validation("durationSeconds", fmt.Sprint(v), fmt.Sprintf("Member must have value greater than or equal to %d", s.minDur))
	}
	if v > max {
		return validation("durationSeconds", fmt.Sprint(v), fmt.Sprintf("Member must have value less than or equal to %d", max))
	}
	return nil
}

// AccessDenied is returned for STS calls AWS refuses outright.
func accessDenied(msg string) *Error { return &Error{Code: "AccessDenied", Message: msg} }

// GetSessionToken issues temporary credentials for the caller itself (an IAM
// user or a root user). duration 0 means the default (12 hours for users, 1
// hour for root); root sessions are capped at 1 hour, as in AWS.
func (s *Service) GetSessionToken(caller *Principal, duration int) (TempCredentials, error) {
	if caller.Temporary() {
		return TempCredentials{}, accessDenied("Cannot call GetSessionToken with session credentials")
	}
	switch caller.Kind {
	case KindUser:
		if duration == 0 {
			duration = DefaultSessionTokenUser
		}
		if err := s.checkDuration(duration, MaxSessionTokenUser); err != nil {
			return TempCredentials{}, err
		}
	case KindRoot:
		if duration == 0 {
			duration = MaxSessionTokenRoot
		}
		if err := s.checkDuration(duration, MaxSessionTokenUser); err != nil {
			return TempCredentials{}, err
		}
		duration = min(duration, MaxSessionTokenRoot)
	default:
		return TempCredentials{}, accessDenied("Cannot call GetSessionToken as " + caller.ARN)
	}
	c := &sessionClaims{
		Account:    caller.AccountID,
		Kind:       caller.Kind,
		ARN:        caller.ARN,
		UserID:     caller.UserID,
		Name:       caller.Name,
		ParentKey:  caller.parentKey,
		ParentUser: caller.parentUserID,
	}
	return s.issue(c, duration)
}

// AssumeRole issues role-session credentials for caller, who must already
// have been authorized (trust policy and identity policies) by the caller of
// AssumeRole. duration 0 means 1 hour. sessionPolicy, if not empty, narrows
// the session. It returns the credentials, the session's principal and the
// packed policy size as a percentage of the allowed size.
func (s *Service) AssumeRole(caller *Principal, role Role, sessionName string, duration int, sessionPolicy string) (TempCredentials, *Principal, int, error) {
	if caller.Kind == KindRoot {
		return TempCredentials{}, nil, 0, accessDenied("Roles may not be assumed by root accounts.")
	}
	if !ValidSessionName(sessionName) {
		return TempCredentials{}, nil, 0, validation("roleSessionName", sessionName, `Member must satisfy regular expression pattern: [\w+=,.@-]*, with length between 2 and 64`)
	}
	chained := caller.Kind == KindAssumedRole
	given := duration != 0
	if duration == 0 {
		duration = DefaultAssumeRoleDuration
	}
	if duration < s.minDur {
		return TempCredentials{}, nil, 0, s.checkDuration(duration, MaxRoleMaxSession)
	}
	if chained && given && duration > MaxRoleChainingDuration {
		return TempCredentials{}, nil, 0, Errorf(CodeValidationError, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if duration > role.MaxSessionDuration {
		return TempCredentials{}, nil, 0, Errorf(CodeValidationError, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	packed := 0
	if sessionPolicy != "" {
		var buf strings.Builder
		if err := compactJSON(&buf, sessionPolicy); err != nil {
			return TempCredentials{}, nil, 0, Errorf(CodeMalformedPolicyDocument, "Syntax errors in policy.")
		}
		sessionPolicy = buf.String()
		size := policy.PolicySize([]byte(sessionPolicy))
		packed = (size*100 + MaxSessionPolicySize - 1) / MaxSessionPolicySize
		if size > MaxSessionPolicySize {
			return TempCredentials{}, nil, 0, Errorf("PackedPolicyTooLarge", "Packed policy consumes %d%% of allotted space, please use smaller policy for session.", packed)
		}
		if err := CheckIdentityPolicy(sessionPolicy, 0); err != nil {
			return TempCredentials{}, nil, 0, err
		}
	}
	c := &sessionClaims{
		Account:    role.AccountID,
		Kind:       KindAssumedRole,
		ARN:        SessionARN(role.AccountID, role.Name, sessionName),
		UserID:     role.ID + ":" + sessionName,
		RoleARN:    role.ARN(),
		RoleID:     role.ID,
		Session:    sessionName,
		ParentKey:  caller.parentKey,
		ParentUser: caller.parentUserID,
		Policy:     sessionPolicy,
	}
	creds, err := s.issue(c, duration)
	if err != nil {
		return TempCredentials{}, nil, 0, err
	}
	p := &Principal{Kind: KindAssumedRole, AccountID: c.Account, ARN: c.ARN, UserID: c.UserID, RoleARN: c.RoleARN,
		AccessKey: creds.AccessKeyID, Expires: creds.Expiration, SessionName: sessionName, SessionPolicy: sessionPolicy, roleID: role.ID}
	return creds, p, packed, nil
}

func (s *Service) issue(c *sessionClaims, seconds int) (TempCredentials, error) {
	now := s.now().UTC()
	exp := now.Add(time.Duration(seconds) * time.Second)
	c.AccessKey = NewTempAccessKeyID()
	c.Secret = NewSecretKey()
	c.IssuedMs = now.UnixMilli()
	c.ExpiresMs = exp.UnixMilli()
	tok, err := s.keys.sealToken(c)
	if err != nil {
		return TempCredentials{}, err
	}
	return TempCredentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.Secret, SessionToken: tok, Expiration: exp}, nil
}

// compactJSON removes insignificant white space from doc. It keeps key
// order and duplicate keys, so the policy parser still sees exactly what the
// caller sent; it fails on invalid JSON.
func compactJSON(w *strings.Builder, doc string) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(doc)); err != nil {
		return err
	}
	w.Write(buf.Bytes())
	return nil
}

// roleIDOf returns the role id of a role session's user id ("AROA…:session").
func roleIDOf(userID string) string {
	id, _, _ := strings.Cut(userID, ":")
	return id
}
