package shareapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/postern/postern/share"
)

// MaxBody bounds a request body: 64 KiB.
const MaxBody = 64 << 10

// Limits of CreateShare's fields beyond share's own.
const (
	maxKeyLen         = 1024
	maxBucketLen      = 63
	maxContentTypeLen = 256
	maxEndpointLen    = 2048
	maxMaxUses        = 1_000_000_000
	defaultExpiresIn  = 3600
)

// createRequest is CreateShare's body (docs/api.md).
type createRequest struct {
	Bucket      string  `json:"bucket"`
	Key         *string `json:"key"`
	Method      string  `json:"method"`
	ExpiresIn   *int64  `json:"expiresIn"`
	MaxUses     int64   `json:"maxUses"`
	MaxSize     int64   `json:"maxSize"`
	ContentType string  `json:"contentType"`
	Overwrite   bool    `json:"overwrite"`
	Note        string  `json:"note"`
	Webhook     string  `json:"webhook"`
	Endpoint    string  `json:"endpoint"`
}

// createParams are a validated createRequest.
type createParams struct {
	Bucket, Key, Method string
	ExpiresIn           int64 // seconds
	MaxUses, MaxSize    int64
	ContentType         string
	Overwrite           bool
	Note, Webhook       string
	Endpoint            string // "" for the request's own
}

// parseCreate decodes and validates CreateShare's body: strict JSON (one
// object, no unknown field, no trailing data), every field checked. Its
// errors are *apiError values with a 400 status.
func parseCreate(body []byte) (createParams, error) {
	var req createRequest
	if err := decodeStrict(body, &req); err != nil {
		return createParams{}, err
	}
	p := createParams{
		Bucket: req.Bucket, Method: req.Method, MaxUses: req.MaxUses, MaxSize: req.MaxSize,
		ContentType: req.ContentType, Overwrite: req.Overwrite, Note: req.Note, Webhook: req.Webhook,
		Endpoint: req.Endpoint, ExpiresIn: defaultExpiresIn,
	}
	if p.Bucket == "" {
		return p, invalid("The field bucket is required.")
	}
	if len(p.Bucket) > maxBucketLen || !printableASCII(p.Bucket) || strings.ContainsAny(p.Bucket, "/ ") {
		return p, invalid("The field bucket is not a bucket name.")
	}
	switch p.Method {
	case "":
		p.Method = share.MethodGet
	case share.MethodGet, share.MethodPut, share.MethodPost:
	default:
		return p, invalid("The field method must be GET, PUT or POST.")
	}
	if req.Key == nil {
		return p, invalid("The field key is required.")
	}
	p.Key = *req.Key
	if p.Key == "" && p.Method != share.MethodPost {
		return p, invalid("The field key must not be empty for a " + p.Method + " share (only a POST share's prefix may be).")
	}
	if len(p.Key) > maxKeyLen {
		return p, invalid(fmt.Sprintf("The field key is longer than %d bytes.", maxKeyLen))
	}
	if !utf8.ValidString(p.Key) || hasControl(p.Key) {
		return p, invalid("The field key must be UTF-8 text without control characters.")
	}
	if req.ExpiresIn != nil {
		p.ExpiresIn = *req.ExpiresIn
		if p.ExpiresIn < 1 || p.ExpiresIn > int64(share.MaxExpiry.Seconds()) {
			return p, invalid("The field expiresIn must be from 1 to 604800 seconds (7 days).")
		}
	}
	if p.MaxUses < 0 || p.MaxUses > maxMaxUses {
		return p, invalid("The field maxUses must be from 0 (unlimited) to 1000000000.")
	}
	upload := p.Method != share.MethodGet
	if p.MaxSize < 0 {
		return p, invalid("The field maxSize must not be negative.")
	}
	if !upload && (p.MaxSize != 0 || p.ContentType != "" || p.Overwrite) {
		return p, invalid("The fields maxSize, contentType and overwrite are for upload shares (PUT, POST) only.")
	}
	if p.ContentType != "" {
		if len(p.ContentType) > maxContentTypeLen || hasControl(p.ContentType) {
			return p, invalid("The field contentType is not a media type.")
		}
		if _, _, err := mime.ParseMediaType(p.ContentType); err != nil {
			return p, invalid("The field contentType is not a media type.")
		}
	}
	if len(p.Note) > share.MaxNoteLen {
		return p, invalid(fmt.Sprintf("The field note is longer than %d bytes.", share.MaxNoteLen))
	}
	if !utf8.ValidString(p.Note) || strings.ContainsRune(p.Note, 0) {
		return p, invalid("The field note must be UTF-8 text.")
	}
	if p.Webhook != "" {
		if len(p.Webhook) > share.MaxWebhookLen {
			return p, invalid(fmt.Sprintf("The field webhook is longer than %d bytes.", share.MaxWebhookLen))
		}
		if u, err := url.Parse(p.Webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || hasControl(p.Webhook) {
			return p, invalid("The field webhook must be an http or https URL.")
		}
	}
	if p.Endpoint != "" {
		e, err := parseEndpoint(p.Endpoint)
		if err != nil {
			return p, err
		}
		p.Endpoint = e
	}
	return p, nil
}

// parseEndpoint validates a base URL: http or https, a host, no path
// (but "/"), query, fragment or user. It returns it without a final "/".
func parseEndpoint(s string) (string, error) {
	bad := invalid("The field endpoint must be a base URL: http or https, a host and an optional port, no path.")
	if len(s) > maxEndpointLen || hasControl(s) {
		return "", bad
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.ContainsAny(s, "?#") {
		return "", bad
	}
	return u.Scheme + "://" + u.Host, nil
}

// decodeStrict decodes one JSON object into v: unknown fields, trailing
// data, wrong types and malformed JSON are 400 errors naming the problem.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apiErr(400, "MalformedJSON", "The request body is empty; it must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return apiErr(400, "MalformedJSON", "The request body must hold one JSON object and nothing after it.")
	}
	return nil
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return apiErr(400, "MalformedJSON", "The request body must be a JSON object.")
		}
		return invalid("The field " + te.Field + " must be " + jsonKind(te.Type.Kind().String()) + ".")
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return invalid("Unknown field " + f + ".")
	}
	return apiErr(400, "MalformedJSON", "The request body is not valid JSON.")
}

func jsonKind(k string) string {
	switch k {
	case "string", "ptr":
		return "a string"
	case "int64", "int":
		return "an integer"
	case "bool":
		return "true or false"
	}
	return "of another type"
}

func invalid(msg string) error { return apiErr(400, "InvalidArgument", msg) }

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f })
}
