package console

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/proto/s3err"
	"github.com/postern/postern/proto/sigv4"
)

// Console API errors are *s3err.Error, the one S3 error type: the
// upstream S3/IAM/STS code and message verbatim, or the console's own
// (NotSignedIn, InvalidInput...), with the HTTP status. The console answers
// them as JSON (jsonError), not XML; of the extra elements, two reach the
// answer: Resource (S3's <Resource>) and Operation (the upstream operation
// that failed).
const (
	extraOperation = "Operation"
	extraResource  = "Resource"
)

// jsonError is the console API's JSON shape of an error, the body's "error"
// member, as console.js reads it.
type jsonError struct {
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Operation string `json:"operation,omitempty"`
	Resource  string `json:"resource,omitempty"`
}

func toJSONError(e *s3err.Error) jsonError {
	return jsonError{Status: e.Status, Code: e.Code, Message: e.Message, Operation: e.Get(extraOperation), Resource: e.Get(extraResource)}
}

func badRequest(msg string) *s3err.Error {
	return s3err.New(http.StatusBadRequest, "InvalidInput", msg)
}

// upstreamResponse is a buffered response of the in-process API.
type upstreamResponse struct {
	status int
	header http.Header
	body   bytes.Buffer
	over   bool
}

func (u *upstreamResponse) Header() http.Header { return u.header }
func (u *upstreamResponse) WriteHeader(code int) {
	if u.status == 0 {
		u.status = code
	}
}
func (u *upstreamResponse) Write(p []byte) (int, error) {
	if u.status == 0 {
		u.status = http.StatusOK
	}
	if u.body.Len()+len(p) > maxUpstreamBody {
		u.over = true
		return len(p), nil
	}
	return u.body.Write(p)
}

// upstream describes one request the console makes as its user.
type upstream struct {
	service string // "s3", "iam" or "sts"
	op      string // the operation's name, for error messages
	method  string
	bucket  string
	key     string
	// path, when set, is the request's path instead of /bucket/key (the
	// share API's /_postern/shares…); it must need no escaping.
	path   string
	query  url.Values
	header http.Header
	body   []byte
}

// do signs u with the session's credentials (SigV4, header form, with the
// body's real SHA-256) and serves it in-process. The request carries the
// browser's network facts (remote address, X-Forwarded-For, TLS, User-Agent)
// so that aws:SourceIp, aws:SecureTransport and the like are the user's own.
// Non-2xx answers become *s3err.Error with the service's code and message.
func (c *call) do(u upstream) (*upstreamResponse, error) {
	host := c.s3Host()
	path, raw := "/", "/"
	if u.bucket != "" {
		path = "/" + u.bucket
		raw = "/" + sigv4.EncodePath(u.bucket)
		if u.key != "" {
			path += "/" + u.key
			raw += "/" + sigv4.EncodePath(u.key)
		}
	}
	if u.path != "" {
		path, raw = u.path, u.path
	}
	r, err := http.NewRequestWithContext(c.r.Context(), u.method, "http://"+host+"/", bytes.NewReader(u.body))
	if err != nil {
		return nil, err
	}
	r.URL.Path, r.URL.RawPath = path, raw
	if path == raw {
		r.URL.RawPath = ""
	}
	r.URL.RawQuery = encodeQuery(u.query)
	r.RequestURI = r.URL.RequestURI()
	r.Host = host
	r.ContentLength = int64(len(u.body))
	for k, vs := range u.header {
		r.Header[k] = vs
	}
	if len(u.body) == 0 {
		r.Body = http.NoBody
	}
	// The user's network facts, not ours.
	r.RemoteAddr = c.r.RemoteAddr
	r.TLS = c.r.TLS
	if xff := c.r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		r.Header["X-Forwarded-For"] = xff
	}
	ua := "postern-console"
	if b := c.r.Header.Get("User-Agent"); b != "" {
		ua += " (" + b + ")"
	}
	r.Header.Set("User-Agent", ua)
	signRequest(r, c.s.creds, c.h.cfg.Region, u.service, u.body, c.h.now())

	resp := &upstreamResponse{header: http.Header{}}
	c.h.cfg.API.ServeHTTP(resp, r)
	if resp.status == 0 {
		resp.status = http.StatusOK
	}
	if resp.over {
		return nil, s3err.New(http.StatusBadGateway, "ResponseTooLarge", "The response was too large for the console.", s3err.KV{Key: extraOperation, Value: u.op})
	}
	if resp.status >= 300 {
		return nil, parseUpstreamError(u.op, resp)
	}
	return resp, nil
}

// s3Host is the host the browser reaches the S3 API at.
func (c *call) s3Host() string {
	ep := c.h.s3Endpoint(c.r)
	_, rest, _ := strings.Cut(ep, "://")
	host, _, _ := strings.Cut(rest, "/")
	return host
}

// encodeQuery encodes query parameters the way SigV4 canonicalises them
// (%20 for spaces, sorted keys), so the wire form needs no re-encoding.
func encodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(sigv4.EncodeURIComponent(k))
			b.WriteByte('=')
			b.WriteString(sigv4.EncodeURIComponent(v))
		}
	}
	return b.String()
}

// signRequest adds a SigV4 Authorization header to r, signing every header
// it carries (except the hop-by-hop and network ones) and the body's hash.
func signRequest(r *http.Request, c sigv4.Credentials, region, service string, body []byte, now time.Time) {
	now = now.UTC()
	amzDate := now.Format("20060102T150405Z")
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	r.Header.Set("X-Amz-Date", amzDate)
	if service == "s3" {
		r.Header.Set("X-Amz-Content-Sha256", hash)
	}
	if c.SessionToken != "" {
		r.Header.Set("X-Amz-Security-Token", c.SessionToken)
	}
	signed := []string{"host"}
	for k := range r.Header {
		switch lk := strings.ToLower(k); lk {
		case "user-agent", "x-forwarded-for", "authorization", "content-length":
		default:
			signed = append(signed, lk)
		}
	}
	slices.Sort(signed)
	scope := sigv4.ScopeString(amzDate[:8], region, service)
	cr := sigv4.CanonicalRequest(r, signed, hash)
	sts := sigv4.StringToSign(now, scope, cr)
	sig := sigv4.Signature(sigv4.SigningKey(c.SecretKey, amzDate[:8], region, service), sts)
	r.Header.Set("Authorization", sigv4.Algorithm+" Credential="+c.AccessKey+"/"+scope+", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
}

// parseUpstreamError reads an S3 (<Error>) or IAM/STS (<ErrorResponse>)
// error document, or the share API's JSON ({"error": {"code", "message"}}).
func parseUpstreamError(op string, resp *upstreamResponse) *s3err.Error {
	var code, msg, resource string
	var jdoc struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	var doc struct {
		XMLName  xml.Name
		Code     string `xml:"Code"`
		Message  string `xml:"Message"`
		Resource string `xml:"Resource"`
		Error    struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
	}
	if json.Unmarshal(resp.body.Bytes(), &jdoc) == nil {
		code, msg = jdoc.Error.Code, jdoc.Error.Message
	} else if xml.Unmarshal(resp.body.Bytes(), &doc) == nil {
		code, msg, resource = doc.Code, doc.Message, doc.Resource
		if doc.XMLName.Local == "ErrorResponse" {
			code, msg = doc.Error.Code, doc.Error.Message
		}
	}
	if code == "" {
		code = http.StatusText(resp.status)
		if code == "" {
			code = "Error" + strconv.Itoa(resp.status)
		}
		code = strings.ReplaceAll(code, " ", "")
	}
	if msg == "" {
		msg = "The request failed with HTTP status " + strconv.Itoa(resp.status) + "."
	}
	extra := []s3err.KV{{Key: extraOperation, Value: op}}
	if resource != "" {
		extra = append(extra, s3err.KV{Key: extraResource, Value: resource})
	}
	return s3err.New(resp.status, code, msg, extra...)
}
