// Package shareapi serves Postern's HTTP API of tracked share links at
// /_postern/shares on the S3 listener (docs/api.md, the wire contract):
// CreateShare, ListShares, GetShare and RevokeShare, with JSON bodies,
// SigV4 header authentication through the same credential lookup as S3,
// and every decision made by the one authorization engine (authz.Engine)
// with the actions postern:CreateShare, postern:ListShares,
// postern:GetShare and postern:RevokeShare.
package shareapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/authz"
	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/policy"
	"github.com/postern/postern/proto/s3err"
	"github.com/postern/postern/proto/sigv4"
	"github.com/postern/postern/share"
)

// Prefix is the path every request of this API starts with.
const Prefix = "/_postern/"

const sharesPath = "/_postern/shares"

// MaxSkew is the clock skew tolerated between a request's date and the server's.
const MaxSkew = 15 * time.Minute

// Wants reports whether r is for this API: its path starts with Prefix
// (an underscore is never part of a bucket name).
func Wants(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, Prefix) }

// Config configures a Handler.
type Config struct {
	// Service finds credentials, signs links and holds the share store
	// (Service.Shares()).
	Service *iam.Service
	// Meta finds buckets (their owner and policy).
	Meta meta.Store
	// Authz decides; nil means &authz.Engine{Identities: Service}.
	Authz *authz.Engine
	// Region is the region requests and links are signed for.
	Region string
	// Net finds a request's source (condition keys) and says which peers
	// are trusted proxies (their X-Forwarded-Proto is believed).
	Net *authz.NetConfig
	// Recorder, if set, is told of revocations (share.EventRevoked).
	Recorder *share.Recorder
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Unavailable, if set, reports whether a store's error means that the
	// metadata store cannot be reached (503).
	Unavailable func(error) bool
	// CheckWebhook, if set, vets a new share's webhook URL (its address:
	// share/webhook.CheckURL); its error, in words for the caller, makes
	// the request 400 InvalidArgument.
	CheckWebhook func(ctx context.Context, url string) error
	// WebhookSecret, if set, is the secret that signs a share's webhook
	// notifications, shown by CreateShare and GetShare when the share
	// has a webhook.
	WebhookSecret func(shareID string) string
}

// Handler serves the API.
type Handler struct {
	cfg      Config
	svc      *iam.Service
	store    share.Store
	engine   *authz.Engine
	log      *slog.Logger
	now      func() time.Time
	verifier *sigv4.Verifier
}

// New returns a Handler.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, svc: cfg.Service, store: cfg.Service.Shares(), engine: cfg.Authz, log: cfg.Logger, now: cfg.Now}
	if h.engine == nil {
		h.engine = &authz.Engine{Identities: cfg.Service}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.verifier = sigv4.NewVerifier(sigv4.VerifierConfig{Region: cfg.Region, Services: []string{"s3"}, MaxSkew: MaxSkew, Lookup: h.lookup})
	return h
}

func (h *Handler) lookup(ctx context.Context, accessKey, token string) (sigv4.Secret, error) {
	secret, p, err := h.svc.Credentials(ctx, accessKey, token)
	switch {
	case errors.Is(err, iam.ErrUnknownKey):
		return sigv4.Secret{}, sigv4.ErrUnknownAccessKey
	case errors.Is(err, iam.ErrExpiredToken):
		return sigv4.Secret{}, s3err.New(http.StatusForbidden, "ExpiredToken", "The provided token has expired.")
	case errors.Is(err, iam.ErrInvalidToken):
		return sigv4.Secret{}, s3err.New(http.StatusBadRequest, "InvalidToken", "The provided token is malformed or otherwise invalid.")
	case err != nil:
		var se *iam.ShareError
		if errors.As(err, &se) {
			return sigv4.Secret{}, errShareKey()
		}
		return sigv4.Secret{}, err
	}
	return sigv4.Secret{Key: secret, Identity: p}, nil
}

func errShareKey() *apiError {
	return apiErr(http.StatusForbidden, "AccessDenied", "A share link's key cannot call the share API.")
}

// call is one request being served.
type call struct {
	r  *http.Request
	w  http.ResponseWriter
	id string
	p  *iam.Principal
	// body is the request's body (at most MaxBody bytes).
	body []byte
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(context.WithoutCancel(r.Context()))
	c := &call{r: r, w: w, id: newRequestID()}
	w.Header().Set("X-Amz-Request-Id", c.id)
	w.Header().Set("X-Amz-Id-2", c.id)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.Error("share api: panic", "request_id", c.id, "panic", p)
			h.fail(c, errors.New("panic"))
		}
	}()
	if err := h.serve(c); err != nil {
		h.fail(c, err)
	}
}

func (h *Handler) serve(c *call) error {
	r := c.r
	var op func(*call, string) error
	id := ""
	switch {
	case r.URL.Path == sharesPath || r.URL.Path == sharesPath+"/":
		switch r.Method {
		case http.MethodPost:
			op = h.create
		case http.MethodGet:
			op = h.list
		default:
			return methodNotAllowed("POST, GET")
		}
	case strings.HasPrefix(r.URL.Path, sharesPath+"/"):
		id = strings.TrimPrefix(r.URL.Path, sharesPath+"/")
		if !validID(id) {
			return noSuchShare()
		}
		switch r.Method {
		case http.MethodGet:
			op = h.get
		case http.MethodDelete:
			op = h.revoke
		default:
			return methodNotAllowed("GET, DELETE")
		}
	default:
		return apiErr(http.StatusNotFound, "NotFound", "There is no such API at "+sharesPath+"; see docs/api.md.")
	}
	body, err := h.authenticate(c)
	if err != nil {
		return err
	}
	if h.store == nil {
		return apiErr(http.StatusNotImplemented, "NotImplemented", "This server's metadata store keeps no share links.")
	}
	c.body = body
	return op(c, id)
}

// authenticate verifies the SigV4 Authorization header (presigned URLs,
// SigV2 and unsigned requests are refused), reads the body (at most
// MaxBody) and checks it against the signed payload hash, and sets the
// caller.
func (h *Handler) authenticate(c *call) ([]byte, error) {
	r := c.r
	if r.URL.Query().Has("X-Amz-Credential") || r.URL.Query().Has("X-Amz-Signature") || r.URL.Query().Has("Signature") {
		return nil, apiErr(http.StatusForbidden, "AccessDenied", "The share API takes requests signed in the Authorization header (SigV4), not presigned URLs.")
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), sigv4.Algorithm+" ") {
		return nil, apiErr(http.StatusForbidden, "AccessDenied", "The share API takes only requests signed with AWS Signature Version 4 in the Authorization header.")
	}
	if r.ContentLength > MaxBody {
		return nil, apiErr(http.StatusRequestEntityTooLarge, "EntityTooLarge", "The request body is larger than 64 KiB.")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, apiErr(http.StatusBadRequest, "IncompleteBody", "The request body could not be read.")
	}
	if len(body) > MaxBody {
		return nil, apiErr(http.StatusRequestEntityTooLarge, "EntityTooLarge", "The request body is larger than 64 KiB.")
	}
	sum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(sum[:])
	// The body's hash stands in for a missing x-amz-content-sha256 (curl
	// --aws-sigv4 signs it without sending the header).
	res, err := h.verifier.VerifyWithPayloadHash(r, h.now(), bodyHash)
	if err != nil {
		return nil, err
	}
	p, _ := res.Identity.(*iam.Principal)
	if p == nil {
		return nil, errors.New("shareapi: the verifier returned no principal")
	}
	if p.Share != nil {
		return nil, errShareKey()
	}
	c.p = p
	switch ph := res.PayloadHash; {
	case ph == sigv4.UnsignedPayload:
	case strings.HasPrefix(ph, "STREAMING-"):
		return nil, apiErr(http.StatusBadRequest, "InvalidRequest", "The share API does not take streaming (aws-chunked) bodies.")
	case ph != bodyHash:
		return nil, s3err.XAmzContentSHA256Mismatch()
	}
	return body, nil
}

// --- authorization ---------------------------------------------------------

// authorize asks the engine whether the caller may do action on resource,
// with the bucket's policy when the bucket exists, and extra condition keys.
func (h *Handler) authorize(c *call, action, resource, bucket string, extra policy.MapContext) error {
	ar := &authz.Request{
		Principal: c.p, Action: action, Resource: resource,
		Context: &authz.RequestContext{R: c.r, Now: h.now(), P: c.p, Net: h.cfg.Net, Region: h.cfg.Region, Extra: extra},
	}
	if bucket != "" {
		b, err := h.cfg.Meta.GetBucket(c.r.Context(), bucket)
		switch {
		case err == nil:
			ar.ResourceAccount = b.Owner
			if doc := b.Configs[meta.ConfigPolicy]; doc != nil {
				pol, err := policy.Parse(doc, policy.Resource)
				if err != nil {
					return err
				}
				ar.ResourcePolicy = pol
				// Stricter than S3's request path may be: a public
				// bucket policy never lets another account make shares.
				ar.RestrictPublic = true
			}
		case errors.Is(err, meta.ErrNoSuchBucket):
		default:
			return err
		}
	}
	err := h.engine.Authorize(c.r.Context(), ar)
	var d *authz.Denied
	if errors.As(err, &d) {
		return apiErr(http.StatusForbidden, "AccessDenied", d.Message)
	}
	return err
}

// creatorOf is who the caller is as a share's creator.
func creatorOf(p *iam.Principal) share.Creator {
	if p.IsRoot() {
		return share.Creator{Kind: string(iam.KindRoot), ARN: iam.RootARN(p.AccountID), UserID: p.AccountID}
	}
	return share.Creator{Kind: string(iam.KindUser), ARN: p.ARN, UserID: p.UserID}
}

// owns reports whether the caller made sh, or is its account's root.
func owns(p *iam.Principal, sh *share.Share) bool {
	if sh.AccountID != p.AccountID {
		return false
	}
	if p.IsRoot() {
		return true
	}
	return p.Kind == iam.KindUser && sh.Creator.Kind == string(iam.KindUser) && sh.Creator.UserID == p.UserID
}

// load reads a share of the caller's account (another account's is
// NoSuchShare) and, unless the caller owns it, authorizes action on it.
func (h *Handler) load(c *call, id, action string) (share.Share, error) {
	sh, err := h.store.GetShare(c.r.Context(), id)
	if errors.Is(err, share.ErrNoSuchShare) || (err == nil && sh.AccountID != c.p.AccountID) {
		return share.Share{}, noSuchShare()
	}
	if err != nil {
		return share.Share{}, err
	}
	if !owns(c.p, &sh) {
		if err := h.authorize(c, action, sh.Resource(), sh.Bucket, nil); err != nil {
			return share.Share{}, err
		}
	}
	return sh, nil
}

// --- operations ------------------------------------------------------------

func (h *Handler) create(c *call, _ string) error {
	p := c.p
	if p.Kind == iam.KindAssumedRole {
		return apiErr(http.StatusForbidden, "AccessDenied", "Shares cannot be made with assumed-role credentials: a role session's link would outlive the session it is bound to. Use an IAM user's credentials.")
	}
	if p.Kind != iam.KindUser && p.Kind != iam.KindRoot {
		return apiErr(http.StatusForbidden, "AccessDenied", "Access Denied")
	}
	in, err := parseCreate(c.body)
	if err != nil {
		return err
	}
	now := h.now().UTC().Truncate(time.Second)
	expiresIn := time.Duration(in.ExpiresIn) * time.Second
	if p.Temporary() {
		left := p.Expires.Sub(now).Truncate(time.Second)
		if left < time.Second {
			return s3err.New(http.StatusForbidden, "ExpiredToken", "The provided token has expired.")
		}
		expiresIn = min(expiresIn, left)
	}
	sh := share.Share{
		ID: newID(), AccessKey: newAccessKey(), AccountID: p.AccountID, Creator: creatorOf(p),
		Method: in.Method, Bucket: in.Bucket, Key: in.Key,
		CreatedAt: now, Expires: now.Add(expiresIn),
		MaxUses: in.MaxUses, MaxSize: in.MaxSize, ContentType: in.ContentType, Overwrite: in.Overwrite,
		Note: in.Note, Webhook: in.Webhook, Endpoint: in.Endpoint,
	}
	if sh.Endpoint == "" {
		sh.Endpoint = h.endpointOf(c.r)
	}
	if _, err := h.cfg.Meta.GetBucket(c.r.Context(), sh.Bucket); errors.Is(err, meta.ErrNoSuchBucket) {
		return apiErr(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	} else if err != nil {
		return err
	}
	extra := policy.MapContext{
		"postern:expiresin":   {strconv.FormatInt(int64(expiresIn/time.Second), 10)},
		"postern:maxuses":     {strconv.FormatInt(sh.MaxUses, 10)},
		"postern:sharemethod": {sh.Method},
	}
	if err := h.authorize(c, "postern:CreateShare", sh.Resource(), sh.Bucket, extra); err != nil {
		return err
	}
	if err := h.authorize(c, sh.Action(), sh.Resource(), sh.Bucket, nil); err != nil {
		return err
	}
	if sh.Webhook != "" && h.cfg.CheckWebhook != nil {
		if err := h.cfg.CheckWebhook(c.r.Context(), sh.Webhook); err != nil {
			return invalid("The field webhook is not accepted: " + err.Error() + ".")
		}
	}
	if err := h.store.CreateShare(c.r.Context(), sh); err != nil {
		return err
	}
	out, err := h.view(&sh)
	if err != nil {
		return err
	}
	h.withWebhookSecret(&out, &sh)
	return writeJSON(c.w, http.StatusCreated, out)
}

func (h *Handler) list(c *call, _ string) error {
	q := c.r.URL.Query()
	f := share.Filter{AccountID: c.p.AccountID, Bucket: q.Get("bucket"), Prefix: q.Get("prefix"), After: q.Get("after"), Limit: share.MaxList}
	if f.Prefix != "" && f.Bucket == "" {
		return invalid("The parameter prefix needs bucket.")
	}
	if f.After != "" && !validID(f.After) {
		return invalid("The parameter after must be a share id (nextAfter of the previous page).")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > share.MaxList {
			return invalid("The parameter limit must be from 1 to 1000.")
		}
		f.Limit = n
	}
	all := false
	switch v := q.Get("all"); v {
	case "", "false":
	case "true":
		all = true
	default:
		return invalid("The parameter all must be true or false.")
	}
	if all {
		resource := "*"
		if f.Bucket != "" {
			resource = "arn:aws:s3:::" + f.Bucket
		}
		if err := h.authorize(c, "postern:ListShares", resource, f.Bucket, nil); err != nil {
			return err
		}
	} else {
		cr := creatorOf(c.p)
		if c.p.Kind == iam.KindAssumedRole {
			return writeJSON(c.w, http.StatusOK, List{Shares: []Share{}})
		}
		f.CreatorID = cr.UserID
	}
	shares, more, err := h.store.ListShares(c.r.Context(), f)
	if err != nil {
		return err
	}
	out := List{Shares: make([]Share, 0, len(shares))}
	for i := range shares {
		v, err := h.view(&shares[i])
		if err != nil {
			return err
		}
		out.Shares = append(out.Shares, v)
	}
	if more && len(shares) > 0 {
		out.NextAfter = shares[len(shares)-1].ID
	}
	return writeJSON(c.w, http.StatusOK, out)
}

func (h *Handler) get(c *call, id string) error {
	sh, err := h.load(c, id, "postern:GetShare")
	if err != nil {
		return err
	}
	out, err := h.view(&sh)
	if err != nil {
		return err
	}
	h.withWebhookSecret(&out, &sh)
	rows, total, err := h.store.ListAudit(c.r.Context(), id, share.MaxAuditList)
	if err != nil {
		return err
	}
	out.Audit = make([]AuditRow, 0, len(rows))
	for _, a := range rows {
		out.Audit = append(out.Audit, AuditRow{
			Time: a.Time.UTC().Format(time.RFC3339), Source: a.Source, UserAgent: a.UserAgent, Method: a.Method,
			Status: a.Status, Bytes: a.Bytes, Range: a.Range, RequestID: a.RequestID, Counted: a.Counted,
		})
	}
	out.AuditTotal = &total
	return writeJSON(c.w, http.StatusOK, out)
}

func (h *Handler) revoke(c *call, id string) error {
	if _, err := h.load(c, id, "postern:RevokeShare"); err != nil {
		return err
	}
	at := h.now().UTC().Truncate(time.Second)
	sh, err := h.store.RevokeShare(c.r.Context(), id, c.p.ARN, at)
	if errors.Is(err, share.ErrNoSuchShare) {
		return noSuchShare()
	}
	if err != nil {
		return err
	}
	if rec := h.cfg.Recorder; rec != nil && sh.RevokedAt.Equal(at) && sh.RevokedBy == c.p.ARN {
		rec.Emit(share.Event{Kind: share.EventRevoked, Time: at, Share: sh})
	}
	out, err := h.view(&sh)
	if err != nil {
		return err
	}
	return writeJSON(c.w, http.StatusOK, out)
}

// endpointOf is the base URL the request reached: its scheme (a trusted
// proxy's X-Forwarded-Proto) and Host.
func (h *Handler) endpointOf(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if h.trustedPeer(r) {
		switch p := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto"))); p {
		case "http", "https":
			scheme = p
		}
	}
	return scheme + "://" + r.Host
}

func (h *Handler) trustedPeer(r *http.Request) bool {
	if h.cfg.Net == nil || len(h.cfg.Net.TrustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range h.cfg.Net.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// --- output ----------------------------------------------------------------

// Share is a share as the API returns it (docs/api.md, "A share, as
// returned"); `postern share` decodes the same type.
type Share struct {
	ID          string            `json:"id"`
	Method      string            `json:"method"`
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	URL         string            `json:"url"`
	Fields      map[string]string `json:"fields,omitempty"`
	State       string            `json:"state"`
	CreatedAt   string            `json:"createdAt"`
	ExpiresAt   string            `json:"expiresAt"`
	Uses        int64             `json:"uses"`
	MaxUses     int64             `json:"maxUses"`
	LastUsed    string            `json:"lastUsed,omitempty"`
	MaxSize     int64             `json:"maxSize"`
	ContentType string            `json:"contentType"`
	Overwrite   bool              `json:"overwrite"`
	Note        string            `json:"note"`
	Webhook     string            `json:"webhook"`
	// WebhookSecret signs the webhook's notifications: CreateShare and
	// GetShare only.
	WebhookSecret string     `json:"webhookSecret,omitempty"`
	Creator       string     `json:"creator"`
	RevokedAt     string     `json:"revokedAt,omitempty"`
	RevokedBy     string     `json:"revokedBy,omitempty"`
	Audit         []AuditRow `json:"audit,omitempty"`
	AuditTotal    *int64     `json:"auditTotal,omitempty"`
}

// AuditRow is one audit row of a share, as GetShare returns it.
type AuditRow struct {
	Time      string `json:"time"`
	Source    string `json:"source"`
	UserAgent string `json:"userAgent"`
	Method    string `json:"method"`
	Status    int    `json:"status"`
	Bytes     int64  `json:"bytes"`
	Range     string `json:"range"`
	RequestID string `json:"requestId"`
	Counted   bool   `json:"counted"`
}

// List is ListShares's answer.
type List struct {
	Shares    []Share `json:"shares"`
	NextAfter string  `json:"nextAfter,omitempty"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// view is a share as returned, with its link signed again (the same link:
// signing is deterministic).
func (h *Handler) view(sh *share.Share) (Share, error) {
	signed, err := h.svc.SignShare(sh, h.cfg.Region)
	if err != nil {
		return Share{}, err
	}
	return Share{
		ID: sh.ID, Method: sh.Method, Bucket: sh.Bucket, Key: sh.Key, URL: signed.URL, Fields: signed.Fields,
		State: sh.State(h.now()), CreatedAt: rfc3339(sh.CreatedAt), ExpiresAt: rfc3339(sh.Expires),
		Uses: sh.Uses, MaxUses: sh.MaxUses, LastUsed: rfc3339(sh.LastUsed),
		MaxSize: sh.MaxSize, ContentType: sh.ContentType, Overwrite: sh.Overwrite,
		Note: sh.Note, Webhook: sh.Webhook, Creator: sh.Creator.ARN,
		RevokedAt: rfc3339(sh.RevokedAt), RevokedBy: sh.RevokedBy,
	}, nil
}

// withWebhookSecret adds to out the secret of sh's webhook notifications,
// if it has a webhook.
func (h *Handler) withWebhookSecret(out *Share, sh *share.Share) {
	if sh.Webhook != "" && h.cfg.WebhookSecret != nil {
		out.WebhookSecret = h.cfg.WebhookSecret(sh.ID)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return nil
}

// --- ids -------------------------------------------------------------------

const (
	idAlphabet  = "abcdefghijklmnopqrstuvwxyz234567"
	keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
)

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("shareapi: crypto/rand failed: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)] // 256 is a multiple of 32: no bias
	}
	return string(b)
}

func newID() string        { return share.IDPrefix + randomString(idAlphabet, 20) }
func newAccessKey() string { return share.AccessKeyPrefix + randomString(keyAlphabet, 16) }

// validID reports whether s has the form of a share id.
func validID(s string) bool {
	rest, ok := strings.CutPrefix(s, share.IDPrefix)
	if !ok || len(rest) != 20 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(idAlphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
