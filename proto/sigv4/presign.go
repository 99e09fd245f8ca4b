package sigv4

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxPresignExpiry is the longest validity AWS allows for a SigV4 presigned URL.
const MaxPresignExpiry = 7 * 24 * time.Hour

// Credentials are what a signer needs.
type Credentials struct {
	AccessKey    string
	SecretKey    string
	SessionToken string // for temporary credentials; "" otherwise
}

// PresignOptions describe a presigned URL to make.
type PresignOptions struct {
	Method  string // GET, PUT, DELETE, HEAD, POST
	URL     string // the request URL, path-style or virtual-host style, with any extra query parameters to sign
	Region  string
	Service string // "s3" when empty
	// Header holds headers the URL's user must send exactly (e.g. Content-Type); they are signed.
	Header  http.Header
	SignAt  time.Time
	Expires time.Duration // 1 s … 7 days
}

// Presign returns a presigned URL: the request's X-Amz-* query parameters
// and signature (AWS Signature Version 4, query-string form, UNSIGNED-PAYLOAD).
func Presign(c Credentials, o PresignOptions) (string, error) {
	if o.Expires < time.Second || o.Expires > MaxPresignExpiry {
		return "", errors.New("sigv4: expiry must be between 1 second and 7 days")
	}
	if o.Expires%time.Second != 0 {
		return "", errors.New("sigv4: expiry must be a whole number of seconds")
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return "", errors.New("sigv4: credentials are missing")
	}
	service := o.Service
	if service == "" {
		service = "s3"
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return "", err
	}
	if u.Host == "" {
		return "", errors.New("sigv4: URL has no host")
	}
	signed := []string{"host"}
	for name := range o.Header {
		if n := strings.ToLower(name); n != "host" {
			signed = append(signed, n)
		}
	}
	sort.Strings(signed)

	t := o.SignAt.UTC()
	amzDate := t.Format("20060102T150405Z")
	date := amzDate[:8]
	scope := ScopeString(date, o.Region, service)

	// Append our parameters to the raw query as the wire will carry it.
	var q strings.Builder
	q.WriteString(u.RawQuery)
	add := func(k, v string) {
		if q.Len() > 0 {
			q.WriteByte('&')
		}
		q.WriteString(EncodeURIComponent(k))
		q.WriteByte('=')
		q.WriteString(EncodeURIComponent(v))
	}
	add("X-Amz-Algorithm", Algorithm)
	add("X-Amz-Credential", c.AccessKey+"/"+scope)
	add("X-Amz-Date", amzDate)
	add("X-Amz-Expires", strconv.FormatInt(int64(o.Expires/time.Second), 10))
	if c.SessionToken != "" {
		add("X-Amz-Security-Token", c.SessionToken)
	}
	add("X-Amz-SignedHeaders", strings.Join(signed, ";"))
	u.RawQuery = q.String()

	r := &http.Request{Method: o.Method, URL: u, Host: u.Host, Header: o.Header.Clone()}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	if v := r.Header.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			r.ContentLength = n
		}
	}
	cr := CanonicalRequest(r, signed, UnsignedPayload)
	sts := StringToSign(t, scope, cr)
	sig := Signature(SigningKey(c.SecretKey, date, o.Region, service), sts)
	u.RawQuery += "&X-Amz-Signature=" + sig
	return u.String(), nil
}
