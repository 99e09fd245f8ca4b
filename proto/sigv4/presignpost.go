package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// PostOptions describe a browser POST upload form to sign.
type PostOptions struct {
	Bucket string
	// Key is the object key; a key ending in "${filename}" lets the browser
	// choose the name under that prefix (a starts-with condition).
	Key     string
	Region  string
	SignAt  time.Time
	Expires time.Duration
	// Fields are more form fields, each also an exact-match condition.
	Fields map[string]string
	// Conditions are more policy conditions, as JSON values
	// (e.g. []any{"content-length-range", 0, 1 << 20}).
	Conditions []any
}

// PresignPOST returns the form fields of a SigV4-signed POST policy: key,
// policy, x-amz-algorithm, x-amz-credential, x-amz-date, x-amz-signature,
// x-amz-security-token for temporary credentials, and opts.Fields.
func PresignPOST(c Credentials, o PostOptions) (map[string]string, error) {
	if c.AccessKey == "" || c.SecretKey == "" {
		return nil, errors.New("sigv4: credentials are missing")
	}
	if o.Bucket == "" || o.Key == "" {
		return nil, errors.New("sigv4: bucket and key are required")
	}
	if o.Expires <= 0 {
		return nil, errors.New("sigv4: expiry must be positive")
	}
	t := o.SignAt.UTC()
	amzDate := t.Format("20060102T150405Z")
	credential := c.AccessKey + "/" + ScopeString(amzDate[:8], o.Region, "s3")

	fields := map[string]string{"key": o.Key}
	conds := []any{map[string]string{"bucket": o.Bucket}}
	if prefix, ok := strings.CutSuffix(o.Key, "${filename}"); ok {
		conds = append(conds, []string{"starts-with", "$key", prefix})
	} else {
		conds = append(conds, map[string]string{"key": o.Key})
	}
	for k, v := range o.Fields {
		fields[k] = v
		conds = append(conds, map[string]string{k: v})
	}
	conds = append(conds, o.Conditions...)
	auth := map[string]string{"x-amz-algorithm": Algorithm, "x-amz-credential": credential, "x-amz-date": amzDate}
	if c.SessionToken != "" {
		auth["x-amz-security-token"] = c.SessionToken
	}
	for _, k := range []string{"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token"} {
		if v, ok := auth[k]; ok {
			fields[k] = v
			conds = append(conds, map[string]string{k: v})
		}
	}
	doc, err := json.Marshal(map[string]any{
		"expiration": t.Add(o.Expires).Format("2006-01-02T15:04:05.000Z"),
		"conditions": conds,
	})
	if err != nil {
		return nil, err
	}
	policy := base64.StdEncoding.EncodeToString(doc)
	mac := hmac.New(sha256.New, SigningKey(c.SecretKey, amzDate[:8], o.Region, "s3"))
	mac.Write([]byte(policy))
	fields["policy"] = policy
	fields["x-amz-signature"] = hex.EncodeToString(mac.Sum(nil))
	return fields, nil
}
