// Package iamapi serves the AWS IAM query API (Version 2010-05-08) and the
// STS query API (Version 2011-06-15) on Postern's listener: parameters in a
// POST form body (or the URL query), SigV4 authentication with the service
// "iam" or "sts" in the credential scope, authorization through the single
// authz.Engine call, and responses and errors in the XML shapes the AWS
// clients parse.
package iamapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
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

// API versions.
const (
	VersionIAM = "2010-05-08"
	VersionSTS = "2011-06-15"
)

// MaxSkew is the clock skew tolerated between a request's date and the server's.
const MaxSkew = 15 * time.Minute

// Config configures a Handler.
type Config struct {
	Service *iam.Service
	// Authz decides every call; nil means &authz.Engine{Identities: Service}.
	Authz *authz.Engine
	// Region is the region clients sign for. IAM is a global service that
	// the AWS SDKs sign for us-east-1, so that region is accepted too.
	Region string
	// Net says how to find a request's source address for condition keys.
	Net    *authz.NetConfig
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Unavailable, if set, reports whether a store's error means that the
	// metadata store cannot be reached (see s3api.Options.Unavailable):
	// 503 ServiceUnavailable. Errors wrapping meta.ErrUnavailable do so
	// always.
	Unavailable func(error) bool
}

// Handler serves IAM and STS.
type Handler struct {
	cfg       Config
	svc       *iam.Service
	engine    *authz.Engine
	log       *slog.Logger
	now       func() time.Time
	verifiers map[string]*sigv4.Verifier // by region
}

// New returns a Handler.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, svc: cfg.Service, engine: cfg.Authz, log: cfg.Logger, now: cfg.Now}
	if h.engine == nil {
		h.engine = &authz.Engine{Identities: cfg.Service}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.verifiers = map[string]*sigv4.Verifier{}
	for _, region := range []string{cfg.Region, "us-east-1"} {
		if _, ok := h.verifiers[region]; !ok {
			h.verifiers[region] = sigv4.NewVerifier(sigv4.VerifierConfig{Region: region, Services: []string{"iam", "sts"}, MaxSkew: MaxSkew, Lookup: h.lookup})
		}
	}
	return h
}

// lookup adapts the identity service to the verifier. Token errors are
// returned as they are and mapped by fail.
//
// A share link's access key is for its one S3 request only: IAM and STS
// do not know it (its secret never leaves the server, so this is defence
// in depth, like shareapi's refusal).
func (h *Handler) lookup(ctx context.Context, accessKey, token string) (sigv4.Secret, error) {
	if share.IsShareKey(accessKey) {
		return sigv4.Secret{}, sigv4.ErrUnknownAccessKey
	}
	secret, _, err := h.svc.Credentials(ctx, accessKey, token)
	if errors.Is(err, iam.ErrUnknownKey) {
		return sigv4.Secret{}, sigv4.ErrUnknownAccessKey
	}
	if err != nil {
		return sigv4.Secret{}, err
	}
	return sigv4.Secret{Key: secret}, nil
}

// Wants reports whether r is an IAM or STS request: a request to "/" signed
// with the service "iam" or "sts" in its credential scope (Authorization
// header or X-Amz-Credential), or an unsigned query-API call to "/" naming an
// Action and one of the two API versions. The query APIs live at "/" only, so
// object requests are told apart without reading their signature. It may
// read (and then restore) a small form body.
func Wants(r *http.Request) bool {
	if r.URL.Path != "/" {
		return false
	}
	if svc := scopeService(r); svc != "" {
		return svc == "iam" || svc == "sts"
	}
	q := r.URL.Query()
	if q.Get("Action") != "" && isVersion(q.Get("Version")) {
		return true
	}
	if r.Method != http.MethodPost || !isFormType(r.Header.Get("Content-Type")) || r.ContentLength > MaxBodyBytes {
		return false
	}
	// An unsigned form POST: peek at the body (bounded) and put it back.
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	r.Body = readCloser{io.MultiReader(strings.NewReader(string(body)), r.Body), r.Body}
	if err != nil || len(body) > MaxBodyBytes {
		return false
	}
	f, err := parseForm("", body)
	return err == nil && f.get("Action") != "" && isVersion(f.get("Version"))
}

type readCloser struct {
	io.Reader
	io.Closer
}

func isVersion(v string) bool { return v == VersionIAM || v == VersionSTS }

func isFormType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded")
}

// scopeService returns the service of the SigV4 credential scope of r
// ("" when r carries none).
func scopeService(r *http.Request) string {
	cred := ""
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, sigv4.Algorithm) {
		_, rest, ok := strings.Cut(a, "Credential=")
		if !ok {
			return ""
		}
		cred, _, _ = strings.Cut(rest, ",")
	} else if r.URL != nil && strings.Contains(r.URL.RawQuery, "X-Amz-Credential") {
		return rawScopePart(rawQueryParam(r.URL.RawQuery, "X-Amz-Credential"), 3)
	}
	return scopePart(strings.TrimSpace(cred), 3)
}

// rawScopePart is scopePart of a still-escaped query value. When the only
// escapes are the slashes' %2F, as the SDKs send them, it splits on those
// without decoding (no allocation on every S3 request); otherwise it decodes.
func rawScopePart(raw string, i int) string {
	if strings.IndexByte(raw, '+') >= 0 || strings.Count(raw, "%") != strings.Count(raw, "%2F")+strings.Count(raw, "%2f") {
		v, err := url.QueryUnescape(raw)
		if err != nil {
			return ""
		}
		return scopePart(strings.TrimSpace(v), i)
	}
	return nthOfFive(raw, i, cutSlash)
}

// cutSlash cuts s around its first '/', %2F or %2f.
func cutSlash(s string) (before, after string, found bool) {
	for j := 0; j < len(s); j++ {
		if s[j] == '/' {
			return s[:j], s[j+1:], true
		}
		if s[j] == '%' && j+2 < len(s) && s[j+1] == '2' && (s[j+2] == 'F' || s[j+2] == 'f') {
			return s[:j], s[j+3:], true
		}
	}
	return s, "", false
}

// scopePart returns element i of a credential "AKID/date/region/service/aws4_request",
// or "" when it does not have exactly five elements. It does not allocate.
func scopePart(cred string, i int) string {
	return nthOfFive(cred, i, func(s string) (string, string, bool) { return strings.Cut(s, "/") })
}

// nthOfFive returns element i of s split by cut, or "" unless s has exactly
// five elements.
func nthOfFive(cred string, i int, cut func(string) (before, after string, found bool)) string {
	var part string
	for n := 0; ; n++ {
		p, rest, more := cut(cred)
		if n == i {
			part = p
		}
		if !more {
			if n != 4 {
				return ""
			}
			return part
		}
		if n == 4 {
			return "" // more than five elements
		}
		cred = rest
	}
}

// scopeRegion returns the region of the credential scope of r.
func scopeRegion(r *http.Request) string {
	cred := ""
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, sigv4.Algorithm) {
		_, rest, _ := strings.Cut(a, "Credential=")
		cred, _, _ = strings.Cut(rest, ",")
	} else if r.URL != nil {
		cred = rawQueryValue(r.URL.RawQuery, "X-Amz-Credential")
	}
	return scopePart(strings.TrimSpace(cred), 2)
}

// apiError is an error as the API reports it.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errf(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

func validationErr(msg string) *apiError { return errf(http.StatusBadRequest, "ValidationError", msg) }

// call is one request in flight.
type call struct {
	h       *Handler
	r       *http.Request
	f       form
	id      string
	ns      string
	service string // "iam" or "sts"
	action  string
	p       *iam.Principal
	auth    *sigv4.Result
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{h: h, r: r, id: newRequestID(), ns: nsIAM, service: scopeService(r)}
	w.Header().Set("x-amzn-RequestId", c.id)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("panic serving IAM/STS request", "request_id", c.id, "action", c.action, "panic", v)
			writeError(w, c.ns, c.id, errf(http.StatusInternalServerError, "ServiceFailure", "An internal error occurred."))
		}
	}()
	result, err := c.serve()
	if err != nil {
		e := c.apiError(err)
		if e.Status >= 500 {
			h.log.Error("IAM/STS request failed", "request_id", c.id, "action", c.action, "err", err)
		}
		writeError(w, c.ns, c.id, e)
		return
	}
	if err := writeResult(w, c.ns, c.action, c.id, result); err != nil {
		h.log.Warn("writing IAM/STS response", "request_id", c.id, "action", c.action, "err", err)
	}
}

func (c *call) serve() (any, error) {
	r := c.r
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, errf(http.StatusMethodNotAllowed, "InvalidAction", "Only GET and POST are supported.")
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, errf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is too large.")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, errf(http.StatusBadRequest, "IncompleteBody", "The request body could not be read.")
	}
	if len(body) > MaxBodyBytes {
		return nil, errf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is too large.")
	}
	if len(body) > 0 && r.Method == http.MethodPost && !isFormType(r.Header.Get("Content-Type")) {
		return nil, errf(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "The request body must be application/x-www-form-urlencoded.")
	}
	f, err := parseForm(r.URL.RawQuery, body)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "MalformedQueryString", "The query string or form is malformed: "+err.Error())
	}
	// Parameters of the signature itself are not API parameters.
	for k := range f {
		if strings.HasPrefix(k, "X-Amz-") {
			delete(f, k)
		}
	}
	c.f = f
	version := f.get("Version")
	c.action = f.get("Action")
	if c.service == "" {
		if version == VersionSTS {
			c.service = "sts"
		} else {
			c.service = "iam"
		}
	}
	if c.service == "sts" {
		c.ns = nsSTS
	}
	if c.action == "" {
		return nil, errf(http.StatusBadRequest, "MissingAction", "Missing Action")
	}
	op, ok := operations[c.service][c.action]
	if !ok || !validName(c.action) {
		c.action = sanitize(c.action)
		return nil, errf(http.StatusBadRequest, "InvalidAction", "Could not find operation "+c.action+" for version "+sanitize(version))
	}
	want := VersionIAM
	if c.service == "sts" {
		want = VersionSTS
	}
	if version != want {
		return nil, errf(http.StatusBadRequest, "InvalidAction", "Could not find operation "+c.action+" for version "+sanitize(version))
	}
	if err := c.authenticate(body); err != nil {
		return nil, err
	}
	return op(c)
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			return false
		}
	}
	return s != ""
}

// sanitize bounds a client-supplied string echoed in a message.
func sanitize(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// authenticate verifies the SigV4 signature over the body and looks up the
// caller.
func (c *call) authenticate(body []byte) error {
	if !sigv4.IsSigV4(c.r) {
		return errf(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	v := c.h.verifiers[scopeRegion(c.r)]
	if v == nil {
		v = c.h.verifiers[c.h.cfg.Region]
	}
	sum := sha256.Sum256(body)
	res, err := v.VerifyWithPayloadHash(c.r, c.h.now(), hex.EncodeToString(sum[:]))
	if err != nil {
		return err
	}
	_, p, err := c.h.svc.Credentials(c.r.Context(), res.AccessKey, res.SessionToken)
	if err != nil {
		return err
	}
	c.p, c.auth = p, res
	c.h.svc.RecordUse(res.AccessKey, res.Service, res.Region)
	return nil
}

// authorize asks the engine whether the caller may perform action on
// resource (an ARN in the caller's account unless resourceAccount says
// otherwise).
func (c *call) authorize(action, resource string) error {
	return c.h.engine.Authorize(c.r.Context(), &authz.Request{
		Principal: c.p,
		Action:    action,
		Resource:  resource,
		Context:   c.conditions(),
	})
}

func (c *call) conditions() policy.MapContext {
	return authz.BaseContext(c.r, c.h.now(), c.p, nil, c.h.cfg.Net, c.h.cfg.Region)
}

// apiError maps any error to what the API reports.
func (c *call) apiError(err error) *apiError {
	var ae *apiError
	var ie *iam.Error
	var se *s3err.Error
	var denied *authz.Denied
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, meta.ErrUnavailable), c.h != nil && c.h.cfg.Unavailable != nil && c.h.cfg.Unavailable(err):
		// IAM's and STS's code for a temporary failure; SDKs retry it.
		return errf(http.StatusServiceUnavailable, "ServiceUnavailable", "The request has failed due to a temporary failure of the server: the metadata store is unreachable.")
	case errors.Is(err, iam.ErrExpiredToken):
		return errf(http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired")
	case errors.Is(err, iam.ErrInvalidToken):
		return errf(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
	case errors.As(err, &denied):
		return errf(http.StatusForbidden, "AccessDenied", denied.Message)
	case errors.As(err, &ie):
		return errf(statusOf(ie.Code), ie.Code, ie.Message)
	case errors.As(err, &se):
		switch se.Code {
		case "InvalidAccessKeyId":
			return errf(http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
		case "SignatureDoesNotMatch":
			return errf(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
		case "RequestTimeTooSkewed":
			return errf(http.StatusForbidden, "SignatureDoesNotMatch", "Signature expired: the request time is too far from the server's time.")
		case "AccessDenied":
			if se.Message == "Request has expired" {
				return errf(http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired")
			}
			return errf(http.StatusForbidden, "AccessDenied", se.Message)
		}
		if se.Status >= 500 {
			return errf(http.StatusInternalServerError, "ServiceFailure", "An internal error occurred.")
		}
		return errf(http.StatusBadRequest, "IncompleteSignature", se.Message)
	}
	return errf(http.StatusInternalServerError, "ServiceFailure", "An internal error occurred.")
}

func statusOf(code string) int {
	switch code {
	case iam.CodeNoSuchEntity:
		return http.StatusNotFound
	case iam.CodeEntityAlreadyExists, iam.CodeLimitExceeded, iam.CodeDeleteConflict:
		return http.StatusConflict
	case "AccessDenied":
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// rawQueryParam returns the first value of name in a raw query string, still
// escaped.
func rawQueryParam(raw, name string) string {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if k, v, _ := strings.Cut(part, "="); k == name {
			return v
		}
	}
	return ""
}

// rawQueryValue returns the first value of name in a raw query string,
// without parsing the whole query (this runs on every S3 request).
func rawQueryValue(raw, name string) string {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(part, "=")
		if k == name {
			if u, err := url.QueryUnescape(v); err == nil {
				return u
			}
			return ""
		}
	}
	return ""
}
