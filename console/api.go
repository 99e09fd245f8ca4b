package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/proto/s3err"
)

// call is one console API request.
type call struct {
	h    *Handler
	w    http.ResponseWriter
	r    *http.Request
	s    *session
	body []byte
}

// bind decodes the JSON request body into v, refusing unknown fields.
func (c *call) bind(v any) error {
	if len(c.body) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(c.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("The request body is not valid JSON for this operation: " + err.Error())
	}
	return nil
}

type opFunc func(c *call) (any, error)

// ops are the console API's operations: POST /console/api/{op}.
var ops = map[string]opFunc{
	"session":              opSession,
	"listBuckets":          opListBuckets,
	"createBucket":         opCreateBucket,
	"deleteBucket":         opDeleteBucket,
	"listObjects":          opListObjects,
	"headObject":           opHeadObject,
	"deleteObject":         opDeleteObject,
	"createFolder":         opCreateFolder,
	"downloadURL":          opDownloadURL,
	"share":                opShare,
	"createShare":          opCreateShare,
	"listShares":           opListShares,
	"getShare":             opGetShare,
	"revokeShare":          opRevokeShare,
	"uploadLink":           opUploadLink,
	"uploadPost":           opUploadPost,
	"mpuStart":             opMPUStart,
	"mpuPartURLs":          opMPUPartURLs,
	"mpuComplete":          opMPUComplete,
	"mpuAbort":             opMPUAbort,
	"getPolicy":            opGetPolicy,
	"putPolicy":            opPutPolicy,
	"deletePolicy":         opDeletePolicy,
	"putPublicAccessBlock": opPutPublicAccessBlock,
	"policyTemplate":       opPolicyTemplate,
	"getCors":              opGetCors,
	"putCors":              opPutCors,
	"deleteCors":           opDeleteCors,
	"allowConsoleCors":     opAllowConsoleCors,
	"iam":                  opIAM,
}

// readJSONBody reads a bounded JSON request body. Requiring the JSON
// content type is a second CSRF guard: an HTML form cannot send it.
func readJSONBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return nil, s3err.New(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "The console API takes application/json.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	if err != nil {
		return nil, s3err.New(http.StatusRequestEntityTooLarge, "RequestTooLarge", "The request body is too large.")
	}
	return body, nil
}

func (h *Handler) api(w http.ResponseWriter, r *http.Request) {
	op, ok := ops[r.PathValue("op")]
	if !ok {
		writeJSONError(w, s3err.New(http.StatusNotFound, "UnknownOperation", "No such console operation."))
		return
	}
	body, err := readJSONBody(w, r)
	if err != nil {
		writeJSONError(w, err)
		return
	}
	s, ok := h.sessions.get(cookieID(r))
	if !ok {
		writeJSONError(w, s3err.New(http.StatusUnauthorized, "NotSignedIn", "Your session has ended. Sign in again."))
		return
	}
	c := &call{h: h, w: w, r: r, s: s, body: body}
	res, err := op(c)
	if err != nil {
		writeJSONError(w, err)
		return
	}
	if res == nil {
		res = struct{}{}
	}
	writeJSON(w, http.StatusOK, res)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

func writeJSONError(w http.ResponseWriter, err error) {
	var e *s3err.Error
	if !errors.As(err, &e) {
		e = s3err.New(http.StatusInternalServerError, "InternalError", err.Error())
	}
	writeJSON(w, e.Status, map[string]any{"error": toJSONError(e)})
}

type signInInput struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken"`
}

// signIn checks the credentials with STS GetCallerIdentity (which any valid
// credentials may call) and starts a session.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	body, err := readJSONBody(w, r)
	if err != nil {
		writeJSONError(w, err)
		return
	}
	var in signInInput
	if err := json.Unmarshal(body, &in); err != nil {
		writeJSONError(w, badRequest("The request body is not valid JSON."))
		return
	}
	in.AccessKeyID = strings.TrimSpace(in.AccessKeyID)
	in.SecretAccessKey = strings.TrimSpace(in.SecretAccessKey)
	in.SessionToken = strings.TrimSpace(in.SessionToken)
	if in.AccessKeyID == "" || in.SecretAccessKey == "" {
		writeJSONError(w, badRequest("Enter an access key ID and a secret access key."))
		return
	}
	// Throttle failed sign-ins by source address and by access key id. A
	// token is taken before the credentials are checked (concurrent
	// attempts cannot slip past) and given back if they are good.
	addr := remoteHost(r)
	keyID := in.AccessKeyID
	if len(keyID) > 128 { // IAM's longest; bounds the limiter's memory
		keyID = keyID[:128]
	}
	if ok, wait := h.signInByAddr.take(addr); !ok {
		h.refuseSignIn(w, r, in.AccessKeyID, "from this address", wait)
		return
	}
	if ok, wait := h.signInByKey.take(keyID); !ok {
		h.signInByAddr.refund(addr)
		h.refuseSignIn(w, r, in.AccessKeyID, "for this access key", wait)
		return
	}
	// Whatever session the browser had ends here: a signed-in session
	// always gets a new id.
	if old := cookieID(r); old != "" {
		h.sessions.delete(old)
	}
	s := &session{}
	s.creds.AccessKey, s.creds.SecretKey, s.creds.SessionToken = in.AccessKeyID, in.SecretAccessKey, in.SessionToken
	c := &call{h: h, w: w, r: r, s: s}
	id, err := c.callerIdentity()
	if err != nil {
		h.log.Info("console sign-in refused", "access_key", in.AccessKeyID, "remote", r.RemoteAddr, "err", err)
		writeJSONError(w, err)
		return
	}
	s.arn, s.account, s.userID = id.Arn, id.Account, id.UserID
	if h.cfg.CredentialExpiry != nil {
		if s.credExpires, err = h.cfg.CredentialExpiry(r, in.AccessKeyID, in.SessionToken); err != nil {
			writeJSONError(w, err)
			return
		}
	}
	h.signInByAddr.refund(addr)
	h.signInByKey.refund(keyID)
	sid, ok := h.sessions.create(s)
	if !ok {
		writeJSONError(w, s3err.New(http.StatusServiceUnavailable, "TooManySessions", "Too many console sessions; try again later."))
		return
	}
	setSessionCookie(w, r, sid, int(h.sessions.expiresAt(s).Sub(h.now())/time.Second))
	h.log.Info("console sign-in", "arn", s.arn, "access_key", in.AccessKeyID, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, c.sessionInfo())
}

// refuseSignIn answers a throttled sign-in: 429 with Retry-After.
func (h *Handler) refuseSignIn(w http.ResponseWriter, r *http.Request, accessKey, what string, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	h.log.Warn("console sign-in throttled", "access_key", accessKey, "remote", r.RemoteAddr, "retry_after_s", secs)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeJSONError(w, s3err.New(http.StatusTooManyRequests, "TooManySignInAttempts",
		fmt.Sprintf("Too many failed sign-in attempts %s. Try again in %d seconds.", what, secs)))
}

// remoteHost is the client's address without the port.
func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	if _, err := readJSONBody(w, r); err != nil {
		writeJSONError(w, err)
		return
	}
	if id := cookieID(r); id != "" {
		h.sessions.delete(id)
	}
	setSessionCookie(w, r, "", -1)
	writeJSON(w, http.StatusOK, struct{}{})
}

type callerIdentity struct {
	Arn     string `xml:"GetCallerIdentityResult>Arn"`
	UserID  string `xml:"GetCallerIdentityResult>UserId"`
	Account string `xml:"GetCallerIdentityResult>Account"`
}

func (c *call) callerIdentity() (*callerIdentity, error) {
	resp, err := c.do(upstream{service: "sts", op: "GetCallerIdentity", method: http.MethodPost,
		header: formHeader(), body: []byte("Action=GetCallerIdentity&Version=2011-06-15")})
	if err != nil {
		var e *s3err.Error
		if errors.As(err, &e) && (e.Code == "InvalidClientTokenId" || e.Code == "SignatureDoesNotMatch" || e.Code == "InvalidAccessKeyId") {
			e.Message = "The access key ID or secret access key is not valid. (" + e.Code + ")"
			e.Status = http.StatusUnauthorized
		}
		return nil, err
	}
	var id callerIdentity
	if err := decodeXML(resp, &id); err != nil {
		return nil, err
	}
	return &id, nil
}

func formHeader() http.Header {
	return http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
}

type sessionInfo struct {
	Arn                string `json:"arn"`
	Account            string `json:"account"`
	AccessKeyID        string `json:"accessKeyId"`
	Temporary          bool   `json:"temporary"`
	CredentialExpires  string `json:"credentialExpires,omitempty"`
	SessionExpires     string `json:"sessionExpires"`
	IdleTimeoutSeconds int    `json:"idleTimeoutSeconds"`
	S3Endpoint         string `json:"s3Endpoint"`
	Region             string `json:"region"`
	MaxShareSeconds    int64  `json:"maxShareSeconds"`
	ShareCapReason     string `json:"shareCapReason,omitempty"`
	MultipartThreshold int64  `json:"multipartThreshold"`
	PartSize           int64  `json:"partSize"`
	ConsoleOrigin      string `json:"consoleOrigin"`
	// NeedsCORS: the console is on another origin than the S3 endpoint,
	// so direct uploads need a CORS rule on the bucket.
	NeedsCORS bool `json:"needsCors"`
}

func (c *call) sessionInfo() sessionInfo {
	max, reason := c.maxShare()
	info := sessionInfo{
		Arn: c.s.arn, Account: c.s.account, AccessKeyID: c.s.creds.AccessKey,
		Temporary:          c.s.temporary(),
		SessionExpires:     c.h.sessions.expiresAt(c.s).UTC().Format(time.RFC3339),
		IdleTimeoutSeconds: int(c.h.cfg.IdleTimeout / time.Second),
		S3Endpoint:         c.h.s3Endpoint(c.r),
		Region:             c.h.cfg.Region,
		MaxShareSeconds:    int64(max / time.Second),
		ShareCapReason:     reason,
		MultipartThreshold: c.h.cfg.MultipartThreshold,
		PartSize:           c.h.cfg.PartSize,
		ConsoleOrigin:      consoleOrigin(c.r),
		NeedsCORS:          c.needsCORS(),
	}
	if !c.s.credExpires.IsZero() {
		info.CredentialExpires = c.s.credExpires.UTC().Format(time.RFC3339)
	}
	return info
}

func opSession(c *call) (any, error) { return c.sessionInfo(), nil }

// s3Endpoint is the S3 API's base URL as the browser reaches it.
func (h *Handler) s3Endpoint(r *http.Request) string {
	if h.cfg.S3Endpoint != nil {
		return strings.TrimRight(h.cfg.S3Endpoint(r), "/")
	}
	return consoleOrigin(r)
}
