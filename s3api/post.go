package s3api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/checksum"
	"github.com/postern/postern/proto/postpolicy"
	"github.com/postern/postern/proto/s3err"
	"github.com/postern/postern/proto/sigv2"
	"github.com/postern/postern/proto/sigv4"
	"github.com/postern/postern/share"
)

// AuthTypePOST is the s3:authType of browser POST uploads.
const AuthTypePOST sigv4.AuthType = "POST"

func postError(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return s3err.RequestTimeout() // the form came too slowly (see Guard)
	}
	return err // postpolicy's failures are *s3err.Error already
}

// authenticatePOST checks the SigV4 signature over the policy of a browser
// POST form and sets the request's principal. A form without a signature is
// anonymous (allowed only where a bucket policy grants it).
func (h *Handler) authenticatePOST(req *request, f *postpolicy.Form) (*postpolicy.Policy, error) {
	field := func(n string) string { v, _ := f.Value(n); return v }
	policyB64 := field("policy")
	sig := field("x-amz-signature")
	if sig == "" && policyB64 == "" {
		return nil, nil
	}
	if sig == "" && field("signature") != "" && field("awsaccesskeyid") != "" {
		return h.authenticatePOSTv2(req, f)
	}
	if alg := field("x-amz-algorithm"); alg != sigv4.Algorithm {
		return nil, s3err.InvalidArgument("POST form field x-amz-algorithm must be AWS4-HMAC-SHA256.")
	}
	if sig == "" || policyB64 == "" || field("x-amz-credential") == "" || field("x-amz-date") == "" {
		return nil, s3err.InvalidArgument("Bucket POST must contain the fields policy, x-amz-algorithm, x-amz-credential, x-amz-date and x-amz-signature.")
	}
	parts := strings.Split(field("x-amz-credential"), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[3] != "s3" {
		return nil, s3err.InvalidArgument("POST form field x-amz-credential is malformed: want AKID/YYYYMMDD/REGION/s3/aws4_request.")
	}
	if parts[2] != h.deps.Region {
		return nil, s3err.New(http.StatusBadRequest, "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; the region '"+parts[2]+"' is wrong; expecting '"+h.deps.Region+"'")
	}
	signedAt, err := time.Parse("20060102T150405Z", field("x-amz-date"))
	if err != nil || !strings.HasPrefix(field("x-amz-date"), parts[1]) {
		return nil, s3err.InvalidArgument("POST form field x-amz-date is malformed or does not match the credential's date.")
	}
	token := field("x-amz-security-token")
	secret, p, err := h.deps.Directory.Credentials(req.r.Context(), parts[0], token)
	if share.IsShareKey(parts[0]) {
		noteShare(req, p, err)
	}
	if err != nil {
		return nil, credentialError(err)
	}
	key := sigv4.SigningKey(secret, parts[1], parts[2], "s3")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(policyB64))
	want := mac.Sum(nil)
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(want, got) {
		e := s3err.New(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
		e.Extra = append(e.Extra, kv("AWSAccessKeyId", parts[0]), kv("StringToSign", policyB64), kv("SignatureProvided", sig))
		return nil, e
	}
	pol, err := postpolicy.ParsePolicy(policyB64)
	if err != nil {
		return nil, postError(err)
	}
	req.principal = p
	req.auth = &sigv4.Result{
		AccessKey: parts[0], SessionToken: token, Region: parts[2], Service: "s3",
		AuthType: AuthTypePOST, SignedAt: signedAt, PayloadHash: unsignedPayload,
	}
	return pol, nil
}

// authenticatePOSTv2 checks a Signature Version 2 POST form: AWSAccessKeyId,
// policy and signature = base64(HMAC-SHA1(secret, policy)).
func (h *Handler) authenticatePOSTv2(req *request, f *postpolicy.Form) (*postpolicy.Policy, error) {
	field := func(n string) string { v, _ := f.Value(n); return v }
	if h.opts.DisableSigV2 {
		return nil, s3err.New(http.StatusBadRequest, "InvalidRequest", "Signature Version 2 is disabled on this server (--sigv2=false); sign the POST policy with AWS4-HMAC-SHA256.")
	}
	ak, policyB64, sig := field("awsaccesskeyid"), field("policy"), field("signature")
	if policyB64 == "" {
		return nil, s3err.InvalidArgument("Bucket POST must contain a field named 'policy' when it is signed.")
	}
	token := field("x-amz-security-token")
	secret, p, err := h.deps.Directory.Credentials(req.r.Context(), ak, token)
	if err != nil {
		return nil, credentialError(err)
	}
	if !sigv2.VerifyPOST(secret, policyB64, sig) {
		e := s3err.New(http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
		e.Extra = append(e.Extra, kv("AWSAccessKeyId", ak), kv("StringToSign", policyB64), kv("SignatureProvided", sig))
		return nil, e
	}
	pol, err := postpolicy.ParsePolicy(policyB64)
	if err != nil {
		return nil, postError(err)
	}
	req.principal = p
	req.sigV2 = true
	req.auth = &sigv4.Result{AccessKey: ak, SessionToken: token, Service: "s3", Region: h.deps.Region, AuthType: AuthTypePOST, PayloadHash: unsignedPayload}
	return pol, nil
}

// postObject handles browser-based uploads: POST Object with a policy.
func (h *Handler) postObject(req *request, b *meta.Bucket) error {
	r := req.r
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return s3err.New(http.StatusPreconditionFailed, "PreconditionFailed", "Bucket POST must be of the enclosure-type multipart/form-data")
	}
	form, err := postpolicy.ReadForm(r.Body, params["boundary"])
	if err != nil {
		return postError(err)
	}
	pol, err := h.authenticatePOST(req, form)
	if err != nil {
		return err
	}
	key := form.Key()
	if _, ok := form.Value("key"); !ok {
		return s3err.InvalidArgument("Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
	}
	if key == "" || len(key) > MaxKeyLength {
		return s3err.KeyTooLongError()
	}
	if pol != nil {
		if err := pol.Check(form, b.Name, h.now()); err != nil {
			return postError(err)
		}
	}
	field := func(n string) string { v, _ := form.Value(n); return v }
	req.form, req.formContentType = true, field("content-type")
	if err := h.authorize(req, "s3:PutObject", b, key); err != nil {
		return err
	}

	o := meta.Object{
		Bucket: b.Name, Key: key,
		ContentType: field("content-type"), ContentEncoding: field("content-encoding"),
		ContentDisposition: field("content-disposition"), CacheControl: field("cache-control"),
		ContentLanguage: field("content-language"), Expires: field("expires"),
	}
	total := 0
	for name, v := range form.Fields {
		if k, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok {
			if o.UserMeta == nil {
				o.UserMeta = map[string]string{}
			}
			o.UserMeta[k] = v
			total += len(k) + len(v)
		}
	}
	if total > MaxUserMetadata {
		return s3err.MetadataTooLarge()
	}
	if err := checkStoredMetadata(&o); err != nil {
		return err
	}

	maxSize := int64(MaxPutSize)
	if pol != nil {
		if _, hi, ok := pol.LengthRange(); ok && hi < maxSize {
			maxSize = hi
		}
	}
	sk, err := h.newSink(req.r.Context(), -1, true)
	if err != nil {
		return err
	}
	defer sk.Abort()
	set, _ := checksum.NewSet(false)
	n, err := io.Copy(io.MultiWriter(sk, set), io.LimitReader(form.File, maxSize+1))
	req.bytesIn += n
	if err != nil {
		return bodyError(err)
	}
	if pol != nil {
		if err := pol.CheckLength(n); err != nil {
			return postError(err)
		}
	}
	if n > MaxPutSize {
		return s3err.EntityTooLarge()
	}
	if o.Inline, o.Segments, err = sk.Finish(n); err != nil {
		return err
	}
	o.Size, o.ETag, o.LastModified = n, set.ETag(), h.now().UTC()
	freed, err := h.deps.Meta.PutObject(r.Context(), o, shareCondition(req, meta.Condition{}))
	if err != nil {
		h.freeBlobs(req.r.Context(), segmentBlobs(o.Segments))
		return mapMetaErr(err)
	}
	h.freeBlobs(req.r.Context(), freed)

	etag := `"` + o.ETag + `"`
	location := h.objectLocation(r, b.Name, key)
	hd := req.w.Header()
	hd.Set("ETag", etag)
	hd.Set("Location", location)
	redirect := field("success_action_redirect")
	if redirect == "" {
		redirect = field("redirect")
	}
	if redirect != "" {
		if u, err := url.Parse(redirect); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			q := u.Query()
			q.Set("bucket", b.Name)
			q.Set("key", key)
			q.Set("etag", etag)
			u.RawQuery = q.Encode()
			hd.Set("Location", u.String())
			req.w.WriteHeader(http.StatusSeeOther)
			return nil
		}
	}
	switch field("success_action_status") {
	case "200":
		req.w.WriteHeader(http.StatusOK)
	case "201":
		return writeXML(req.w, http.StatusCreated, postResponse{Location: location, Bucket: b.Name, Key: key, ETag: etag})
	default:
		req.w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// objectLocation is the object's URL as the client addressed the server.
func (h *Handler) objectLocation(r *http.Request, bucket, key string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if h.hostBucket(r.Host) != "" {
		return scheme + "://" + r.Host + "/" + sigv4.EncodePath(key)
	}
	return scheme + "://" + r.Host + "/" + bucket + "/" + sigv4.EncodePath(key)
}
