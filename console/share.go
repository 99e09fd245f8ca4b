package console

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/proto/s3err"
	"github.com/postern/postern/proto/sigv4"
)

// downloadExpiry is the validity of the short links the console itself
// uses to download an object.
const downloadExpiry = 5 * time.Minute

// maxShare returns the longest validity a link signed now may have: seven
// days (SigV4's limit), or less when temporary credentials end sooner — a
// presigned URL stops working when the credentials that signed it expire.
func (c *call) maxShare() (time.Duration, string) {
	return shareCap(c.h.now(), c.s.credExpires)
}

func shareCap(now, credExpires time.Time) (time.Duration, string) {
	max := sigv4.MaxPresignExpiry
	if credExpires.IsZero() {
		return max, ""
	}
	left := credExpires.Sub(now).Truncate(time.Second)
	if left < max {
		if left < time.Second {
			left = 0
		}
		return left, "Links end when the temporary credentials you signed in with expire (" + credExpires.UTC().Format(time.RFC3339) + ")."
	}
	return max, ""
}

// shareDuration validates a requested validity in seconds and caps it.
func shareDuration(seconds int64, now, credExpires time.Time) (d time.Duration, capped bool, err error) {
	if seconds < 1 || seconds > int64(sigv4.MaxPresignExpiry/time.Second) {
		return 0, false, badRequest("A link can be valid from 1 second to 7 days (604800 seconds).")
	}
	d = time.Duration(seconds) * time.Second
	max, _ := shareCap(now, credExpires)
	if max < time.Second {
		return 0, false, s3err.New(http.StatusBadRequest, "ExpiredToken", "Your temporary credentials have expired; sign in again.")
	}
	if d > max {
		return max, true, nil
	}
	return d, false, nil
}

// objectURL is the path-style URL of an object at the browser's S3 endpoint.
func (c *call) objectURL(bucket, key string) string {
	u := c.h.s3Endpoint(c.r) + "/" + sigv4.EncodePath(bucket)
	if key != "" {
		u += "/" + sigv4.EncodePath(key)
	}
	return u
}

func (c *call) presign(method, bucket, key string, q url.Values, d time.Duration) (string, error) {
	u := c.objectURL(bucket, key)
	if len(q) > 0 {
		u += "?" + encodeQuery(q)
	}
	return sigv4.Presign(c.s.creds, sigv4.PresignOptions{Method: method, URL: u, Region: c.h.cfg.Region, SignAt: c.h.now(), Expires: d})
}

// attachment builds a Content-Disposition that makes the browser save the
// object as name (RFC 6266, with an RFC 5987 UTF-8 form).
func attachment(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return -1
		}
		return r
	}, name)
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return "attachment; filename*=UTF-8''" + url.PathEscape(name)
}

func baseName(key string) string {
	key = strings.TrimSuffix(key, "/")
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		return key[i+1:]
	}
	return key
}

func opDownloadURL(c *call) (any, error) {
	var in objectInput
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	d, _, err := shareDuration(int64(downloadExpiry/time.Second), c.h.now(), c.s.credExpires)
	if err != nil {
		return nil, err
	}
	u, err := c.presign(http.MethodGet, in.Bucket, in.Key, url.Values{"response-content-disposition": {attachment(baseName(in.Key))}}, d)
	if err != nil {
		return nil, err
	}
	return map[string]string{"url": u}, nil
}

type shareResult struct {
	URL       string   `json:"url"`
	Expires   string   `json:"expires"`
	Seconds   int64    `json:"seconds"`
	Capped    bool     `json:"capped"`
	CapReason string   `json:"capReason,omitempty"`
	QR        []string `json:"qr,omitempty"`
}

func (c *call) shareResult(u string, d time.Duration, capped bool) shareResult {
	_, reason := c.maxShare()
	res := shareResult{URL: u, Expires: c.h.now().Add(d).UTC().Format(time.RFC3339), Seconds: int64(d / time.Second), Capped: capped}
	if capped {
		res.CapReason = reason
	}
	if q, err := EncodeQR([]byte(u)); err == nil {
		res.QR = q.Rows()
	}
	return res
}

// opShare presigns a GET of an object with the user's own credentials, so
// the link keeps working after sign-out (until it expires, or until those
// credentials are deleted or expire).
func opShare(c *call) (any, error) {
	var in struct {
		Bucket   string `json:"bucket"`
		Key      string `json:"key"`
		Seconds  int64  `json:"seconds"`
		Filename string `json:"filename"`
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (objectInput{in.Bucket, in.Key}).check(); err != nil {
		return nil, err
	}
	d, capped, err := shareDuration(in.Seconds, c.h.now(), c.s.credExpires)
	if err != nil {
		return nil, err
	}
	var q url.Values
	if f := strings.TrimSpace(in.Filename); f != "" {
		q = url.Values{"response-content-disposition": {attachment(f)}}
	}
	u, err := c.presign(http.MethodGet, in.Bucket, in.Key, q, d)
	if err != nil {
		return nil, err
	}
	return c.shareResult(u, d, capped), nil
}

// postPolicy builds a presigned POST form (AWS's "browser-based upload"):
// the fields to send along with the file.
type postForm struct {
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
}

type postSpec struct {
	bucket    string
	key       string // exact key, or a prefix when keyPrefix
	keyPrefix bool
	maxBytes  int64
	expires   time.Duration
	extra     map[string]string // more fields, each an exact-match condition
	anyType   bool              // allow any Content-Type field
}

func (c *call) postForm(p postSpec) (*postForm, error) {
	key := p.key
	if p.keyPrefix {
		key += "${filename}"
	}
	conds := []any{[]any{"content-length-range", 0, p.maxBytes}}
	if p.anyType {
		conds = append(conds, []string{"starts-with", "$Content-Type", ""})
	}
	fields, err := sigv4.PresignPOST(c.s.creds, sigv4.PostOptions{
		Bucket: p.bucket, Key: key, Region: c.h.cfg.Region, SignAt: c.h.now(), Expires: p.expires,
		Fields: p.extra, Conditions: conds,
	})
	if err != nil {
		return nil, err
	}
	return &postForm{URL: c.objectURL(p.bucket, "") + "/", Fields: fields}, nil
}

// maxPostBytes is S3's limit on a POST upload (5 GiB).
const maxPostBytes = 5 << 30

// opUploadPost returns a presigned POST for one file the browser uploads
// directly (files below the multipart threshold).
func opUploadPost(c *call) (any, error) {
	var in struct {
		Bucket      string `json:"bucket"`
		Key         string `json:"key"`
		Size        int64  `json:"size"`
		ContentType string `json:"contentType"`
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (objectInput{in.Bucket, in.Key}).check(); err != nil {
		return nil, err
	}
	if in.Size < 0 || in.Size > maxPostBytes {
		return nil, badRequest("A single upload can be at most 5 GiB.")
	}
	d, _, err := shareDuration(3600, c.h.now(), c.s.credExpires)
	if err != nil {
		return nil, err
	}
	ct := in.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	return c.postForm(postSpec{bucket: in.Bucket, key: in.Key, maxBytes: in.Size, expires: d,
		extra: map[string]string{"Content-Type": ct, "success_action_status": "201"}})
}

// opUploadLink makes an upload ("drop") link: a presigned POST for any file
// name under a prefix, with a size limit, usable by someone without an
// account on the console's public drop page or with curl.
func opUploadLink(c *call) (any, error) {
	var in struct {
		Bucket   string `json:"bucket"`
		Prefix   string `json:"prefix"`
		Seconds  int64  `json:"seconds"`
		MaxBytes int64  `json:"maxBytes"`
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (bucketInput{in.Bucket}).check(); err != nil {
		return nil, err
	}
	if in.MaxBytes < 1 || in.MaxBytes > maxPostBytes {
		return nil, badRequest("The size limit must be between 1 byte and 5 GiB.")
	}
	d, capped, err := shareDuration(in.Seconds, c.h.now(), c.s.credExpires)
	if err != nil {
		return nil, err
	}
	done := consoleOrigin(c.r) + "/console/drop?done=1"
	form, err := c.postForm(postSpec{bucket: in.Bucket, key: in.Prefix, keyPrefix: true, maxBytes: in.MaxBytes, expires: d, anyType: true,
		extra: map[string]string{"success_action_redirect": done}})
	if err != nil {
		return nil, err
	}
	// The drop page reads the form from the URL fragment, which browsers
	// never send to a server.
	payload, _ := json.Marshal(map[string]any{"u": form.URL, "f": form.Fields, "m": in.MaxBytes, "e": c.h.now().Add(d).UTC().Format(time.RFC3339), "p": in.Prefix})
	link := consoleOrigin(c.r) + "/console/drop#" + base64.RawURLEncoding.EncodeToString(payload)
	res := c.shareResult(link, d, capped)
	curl := "curl"
	for _, k := range []string{"key", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token", "policy", "x-amz-signature"} {
		if v, ok := form.Fields[k]; ok {
			if k == "key" {
				v = in.Prefix + "FILENAME"
			}
			curl += " -F '" + k + "=" + v + "'"
		}
	}
	curl += " -F 'Content-Type=application/octet-stream' -F 'success_action_redirect=" + done + "' -F 'file=@FILENAME' '" + form.URL + "'"
	return map[string]any{"link": res, "form": form, "curl": curl, "maxBytes": in.MaxBytes}, nil
}

// --- multipart uploads: the console starts and completes them; the
// browser PUTs the parts directly with presigned URLs. ---

func opMPUStart(c *call) (any, error) {
	var in struct {
		Bucket      string `json:"bucket"`
		Key         string `json:"key"`
		ContentType string `json:"contentType"`
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (objectInput{in.Bucket, in.Key}).check(); err != nil {
		return nil, err
	}
	hd := http.Header{}
	if in.ContentType != "" {
		hd.Set("Content-Type", in.ContentType)
	}
	resp, err := c.do(upstream{service: "s3", op: "CreateMultipartUpload", method: http.MethodPost, bucket: in.Bucket, key: in.Key, query: url.Values{"uploads": {""}}, header: hd})
	if err != nil {
		return nil, err
	}
	var doc struct {
		UploadID string `xml:"UploadId"`
	}
	if err := decodeXML(resp, &doc); err != nil {
		return nil, err
	}
	return map[string]string{"uploadId": doc.UploadID}, nil
}

// maxParts is S3's limit on parts per upload.
const maxParts = 10000

func opMPUPartURLs(c *call) (any, error) {
	var in struct {
		Bucket   string `json:"bucket"`
		Key      string `json:"key"`
		UploadID string `json:"uploadId"`
		Parts    []int  `json:"parts"`
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (objectInput{in.Bucket, in.Key}).check(); err != nil {
		return nil, err
	}
	if in.UploadID == "" || len(in.Parts) == 0 || len(in.Parts) > 100 {
		return nil, badRequest("Ask for 1 to 100 parts of an upload.")
	}
	d, _, err := shareDuration(3600, c.h.now(), c.s.credExpires)
	if err != nil {
		return nil, err
	}
	urls := map[string]string{}
	for _, n := range in.Parts {
		if n < 1 || n > maxParts {
			return nil, badRequest("Part numbers run from 1 to 10000.")
		}
		u, err := c.presign(http.MethodPut, in.Bucket, in.Key, url.Values{"partNumber": {strconv.Itoa(n)}, "uploadId": {in.UploadID}}, d)
		if err != nil {
			return nil, err
		}
		urls[strconv.Itoa(n)] = u
	}
	return map[string]any{"urls": urls}, nil
}

// opMPUComplete lists the uploaded parts (so the browser needs no access to
// the ETag response header) and completes the upload.
func opMPUComplete(c *call) (any, error) {
	var in struct {
		Bucket   string `json:"bucket"`
		Key      string `json:"key"`
		UploadID string `json:"uploadId"`
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (objectInput{in.Bucket, in.Key}).check(); err != nil {
		return nil, err
	}
	type part struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	}
	var parts []part
	marker := ""
	for {
		q := url.Values{"uploadId": {in.UploadID}}
		if marker != "" {
			q.Set("part-number-marker", marker)
		}
		resp, err := c.do(upstream{service: "s3", op: "ListParts", method: http.MethodGet, bucket: in.Bucket, key: in.Key, query: q})
		if err != nil {
			return nil, err
		}
		var doc struct {
			Parts       []part `xml:"Part"`
			IsTruncated bool   `xml:"IsTruncated"`
			Next        string `xml:"NextPartNumberMarker"`
		}
		if err := decodeXML(resp, &doc); err != nil {
			return nil, err
		}
		parts = append(parts, doc.Parts...)
		if !doc.IsTruncated || doc.Next == "" {
			break
		}
		marker = doc.Next
	}
	var b strings.Builder
	b.WriteString("<CompleteMultipartUpload>")
	for _, p := range parts {
		b.WriteString("<Part><PartNumber>" + strconv.Itoa(p.PartNumber) + "</PartNumber><ETag>" + xmlEscape(p.ETag) + "</ETag></Part>")
	}
	b.WriteString("</CompleteMultipartUpload>")
	resp, err := c.do(upstream{service: "s3", op: "CompleteMultipartUpload", method: http.MethodPost, bucket: in.Bucket, key: in.Key,
		query: url.Values{"uploadId": {in.UploadID}}, body: []byte(b.String())})
	if err != nil {
		return nil, err
	}
	var doc struct {
		ETag string `xml:"ETag"`
	}
	if err := decodeXML(resp, &doc); err != nil {
		return nil, err
	}
	return map[string]any{"etag": strings.Trim(doc.ETag, `"`), "parts": len(parts)}, nil
}

func opMPUAbort(c *call) (any, error) {
	var in struct {
		Bucket   string `json:"bucket"`
		Key      string `json:"key"`
		UploadID string `json:"uploadId"`
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (objectInput{in.Bucket, in.Key}).check(); err != nil {
		return nil, err
	}
	_, err := c.do(upstream{service: "s3", op: "AbortMultipartUpload", method: http.MethodDelete, bucket: in.Bucket, key: in.Key, query: url.Values{"uploadId": {in.UploadID}}})
	return nil, err
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	return r.Replace(s)
}

func contentMD5(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func jsonStrict(doc string, v any) error {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
