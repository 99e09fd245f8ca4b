package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/proto/s3err"
)

// Tracked share links: the console calls the share API (docs/api.md,
// /_postern/shares on the S3 listener) as its user, like every other
// operation, so the API's own checks and the policy engine decide.

// sharesPath is the share API's path.
const sharesPath = "/_postern/shares"

// shareAPI sends one share API request as the session's user and returns
// the answer's JSON.
func (c *call) shareAPI(op, method, path string, q url.Values, body any) (json.RawMessage, error) {
	u := upstream{service: "s3", op: op, method: method, path: path, query: q}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		u.body = b
		u.header = http.Header{"Content-Type": {"application/json"}}
	}
	resp, err := c.do(u)
	if err != nil {
		return nil, err
	}
	raw := json.RawMessage(resp.body.Bytes())
	if !json.Valid(raw) {
		return nil, s3err.New(http.StatusBadGateway, "InvalidResponse", "The share API's answer is not JSON.", s3err.KV{Key: extraOperation, Value: op})
	}
	return raw, nil
}

// validShareID reports whether id can be a share id (shr- and lower-case
// letters and digits), so that it names nothing but a share in a path.
func validShareID(id string) bool {
	rest, ok := strings.CutPrefix(id, "shr-")
	if !ok || rest == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

type shareIDInput struct {
	ID string `json:"id"`
}

func (c *call) bindShareID() (string, error) {
	var in shareIDInput
	if err := c.bind(&in); err != nil {
		return "", err
	}
	if !validShareID(in.ID) {
		return "", badRequest("Not a share id.")
	}
	return in.ID, nil
}

// createShareInput is what the share dialog sends.
type createShareInput struct {
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
	Seconds int64  `json:"seconds"`
	MaxUses int64  `json:"maxUses"`
	Note    string `json:"note"`
	Webhook string `json:"webhook"`
}

// maxShareUses is the share API's bound on maxUses.
const maxShareUses = 1_000_000_000

// opCreateShare makes a tracked download link (CreateShare, method GET)
// for the browser's S3 endpoint, capped like a plain link by temporary
// credentials' expiry, and returns it with its QR code and the share.
func opCreateShare(c *call) (any, error) {
	var in createShareInput
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (objectInput{in.Bucket, in.Key}).check(); err != nil {
		return nil, err
	}
	if in.MaxUses < 0 || in.MaxUses > maxShareUses {
		return nil, badRequest("Maximum uses must be between 0 (unlimited) and 1000000000.")
	}
	d, capped, err := shareDuration(in.Seconds, c.h.now(), c.s.credExpires)
	if err != nil {
		return nil, err
	}
	body := map[string]any{
		"bucket": in.Bucket, "key": in.Key, "method": "GET",
		"expiresIn": int64(d / time.Second), "maxUses": in.MaxUses,
		"note": strings.TrimSpace(in.Note), "webhook": strings.TrimSpace(in.Webhook),
		"endpoint": c.h.s3Endpoint(c.r),
	}
	raw, err := c.shareAPI("CreateShare", http.MethodPost, sharesPath, nil, body)
	if err != nil {
		return nil, err
	}
	var s struct {
		ID        string `json:"id"`
		URL       string `json:"url"`
		ExpiresAt string `json:"expiresAt"`
	}
	if err := json.Unmarshal(raw, &s); err != nil || s.URL == "" || s.ID == "" {
		return nil, s3err.New(http.StatusBadGateway, "InvalidResponse", "The share API answered without a link.", s3err.KV{Key: extraOperation, Value: "CreateShare"})
	}
	res := c.shareResult(s.URL, d, capped)
	if t, err := time.Parse(time.RFC3339, s.ExpiresAt); err == nil && t.Before(c.h.now().Add(d-time.Second)) {
		// The server capped the link further: show its expiry.
		res.Expires = t.UTC().Format(time.RFC3339)
		res.Seconds = int64(t.Sub(c.h.now()).Round(time.Second) / time.Second)
		res.Capped = true
		if res.CapReason == "" {
			res.CapReason = "The server shortened the link to " + res.Expires + "."
		}
	}
	return map[string]any{"link": res, "share": raw}, nil
}

// opListShares lists the caller's shares, or with all every share of the
// account the caller may list; after continues a listing.
func opListShares(c *call) (any, error) {
	var in struct {
		All    bool   `json:"all"`
		After  string `json:"after"`
		Bucket string `json:"bucket"`
		Prefix string `json:"prefix"`
		Limit  int    `json:"limit"`
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	q := url.Values{}
	if in.All {
		q.Set("all", "true")
	}
	if in.After != "" {
		if !validShareID(in.After) {
			return nil, badRequest("Not a share id.")
		}
		q.Set("after", in.After)
	}
	if in.Bucket != "" {
		if err := (bucketInput{in.Bucket}).check(); err != nil {
			return nil, err
		}
		q.Set("bucket", in.Bucket)
		if in.Prefix != "" {
			q.Set("prefix", in.Prefix)
		}
	}
	if in.Limit != 0 {
		if in.Limit < 1 || in.Limit > 1000 {
			return nil, badRequest("A page holds 1 to 1000 shares.")
		}
		q.Set("limit", strconv.Itoa(in.Limit))
	}
	return c.shareAPI("ListShares", http.MethodGet, sharesPath, q, nil)
}

// opGetShare returns one share with its audit rows.
func opGetShare(c *call) (any, error) {
	id, err := c.bindShareID()
	if err != nil {
		return nil, err
	}
	return c.shareAPI("GetShare", http.MethodGet, sharesPath+"/"+id, nil, nil)
}

// opRevokeShare revokes one share.
func opRevokeShare(c *call) (any, error) {
	id, err := c.bindShareID()
	if err != nil {
		return nil, err
	}
	return c.shareAPI("RevokeShare", http.MethodDelete, sharesPath+"/"+id, nil, nil)
}
