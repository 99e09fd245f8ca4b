package console

import (
	"bytes"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/postern/postern/proto/s3err"
)

func decodeXML(resp *upstreamResponse, v any) error {
	if err := xml.Unmarshal(resp.body.Bytes(), v); err != nil {
		return s3err.New(http.StatusBadGateway, "BadResponse", "Could not read the server's answer: "+err.Error())
	}
	return nil
}

type bucketInput struct {
	Bucket string `json:"bucket"`
}

func (b bucketInput) check() error {
	if b.Bucket == "" || strings.ContainsAny(b.Bucket, "/?#") {
		return badRequest("Choose a bucket.")
	}
	return nil
}

type objectInput struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

func (o objectInput) check() error {
	if err := (bucketInput{o.Bucket}).check(); err != nil {
		return err
	}
	if o.Key == "" {
		return badRequest("Choose an object.")
	}
	return nil
}

func opListBuckets(c *call) (any, error) {
	resp, err := c.do(upstream{service: "s3", op: "ListBuckets", method: http.MethodGet})
	if err != nil {
		return nil, err
	}
	var doc struct {
		Buckets []struct {
			Name         string `xml:"Name" json:"name"`
			CreationDate string `xml:"CreationDate" json:"created"`
		} `xml:"Buckets>Bucket"`
	}
	if err := decodeXML(resp, &doc); err != nil {
		return nil, err
	}
	if doc.Buckets == nil {
		return map[string]any{"buckets": []any{}}, nil
	}
	return map[string]any{"buckets": doc.Buckets}, nil
}

func opCreateBucket(c *call) (any, error) {
	var in struct {
		Bucket              string `json:"bucket"`
		AllowConsoleUploads bool   `json:"allowConsoleUploads"`
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (bucketInput{in.Bucket}).check(); err != nil {
		return nil, err
	}
	var body []byte
	if c.h.cfg.Region != "us-east-1" {
		body = []byte(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>` + c.h.cfg.Region + `</LocationConstraint></CreateBucketConfiguration>`)
	}
	if _, err := c.do(upstream{service: "s3", op: "CreateBucket", method: http.MethodPut, bucket: in.Bucket, body: body}); err != nil {
		return nil, err
	}
	out := map[string]any{"bucket": in.Bucket}
	if in.AllowConsoleUploads && c.needsCORS() {
		if _, err := c.allowConsoleCORS(in.Bucket); err != nil {
			out["corsError"] = err
		}
	}
	return out, nil
}

func opDeleteBucket(c *call) (any, error) {
	var in bucketInput
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	_, err := c.do(upstream{service: "s3", op: "DeleteBucket", method: http.MethodDelete, bucket: in.Bucket})
	return nil, err
}

type listedObject struct {
	Key          string `xml:"Key" json:"key"`
	Size         int64  `xml:"Size" json:"size"`
	LastModified string `xml:"LastModified" json:"lastModified"`
	ETag         string `xml:"ETag" json:"etag"`
}

// maxListKeys is the page size of the object browser (S3 allows up to 1000).
const maxListKeys = 1000

func opListObjects(c *call) (any, error) {
	var in struct {
		Bucket   string `json:"bucket"`
		Prefix   string `json:"prefix"`
		Token    string `json:"token"`
		Flat     bool   `json:"flat"` // no delimiter: search every key under prefix
		MaxKeys  int    `json:"maxKeys"`
		StartKey string `json:"startAfter"`
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (bucketInput{in.Bucket}).check(); err != nil {
		return nil, err
	}
	if in.MaxKeys <= 0 || in.MaxKeys > maxListKeys {
		in.MaxKeys = maxListKeys
	}
	q := url.Values{"list-type": {"2"}, "prefix": {in.Prefix}, "max-keys": {strconv.Itoa(in.MaxKeys)}}
	if !in.Flat {
		q.Set("delimiter", "/")
	}
	if in.Token != "" {
		q.Set("continuation-token", in.Token)
	}
	if in.StartKey != "" {
		q.Set("start-after", in.StartKey)
	}
	resp, err := c.do(upstream{service: "s3", op: "ListObjectsV2", method: http.MethodGet, bucket: in.Bucket, query: q})
	if err != nil {
		return nil, err
	}
	var doc struct {
		Contents       []listedObject `xml:"Contents"`
		CommonPrefixes []string       `xml:"CommonPrefixes>Prefix"`
		NextToken      string         `xml:"NextContinuationToken"`
		IsTruncated    bool           `xml:"IsTruncated"`
	}
	if err := decodeXML(resp, &doc); err != nil {
		return nil, err
	}
	objs := make([]listedObject, 0, len(doc.Contents))
	for _, o := range doc.Contents {
		o.ETag = strings.Trim(o.ETag, `"`)
		objs = append(objs, o)
	}
	folders := doc.CommonPrefixes
	if folders == nil {
		folders = []string{}
	}
	return map[string]any{"prefix": in.Prefix, "folders": folders, "objects": objs, "nextToken": doc.NextToken, "truncated": doc.IsTruncated}, nil
}

func opHeadObject(c *call) (any, error) {
	var in objectInput
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	resp, err := c.do(upstream{service: "s3", op: "HeadObject", method: http.MethodHead, bucket: in.Bucket, key: in.Key})
	if err != nil {
		return nil, err
	}
	h := resp.header
	meta := map[string]string{}
	headers := map[string]string{}
	for k, vs := range h {
		lk := strings.ToLower(k)
		if m, ok := strings.CutPrefix(lk, "x-amz-meta-"); ok {
			meta[m] = strings.Join(vs, ", ")
			continue
		}
		switch lk {
		case "cache-control", "content-disposition", "content-encoding", "content-language", "expires", "x-amz-storage-class", "x-amz-server-side-encryption", "x-amz-version-id":
			headers[lk] = strings.Join(vs, ", ")
		}
	}
	size, _ := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	return map[string]any{
		"key": in.Key, "size": size, "contentType": h.Get("Content-Type"),
		"etag": strings.Trim(h.Get("ETag"), `"`), "lastModified": h.Get("Last-Modified"),
		"metadata": meta, "headers": headers,
	}, nil
}

func opDeleteObject(c *call) (any, error) {
	var in objectInput
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	_, err := c.do(upstream{service: "s3", op: "DeleteObject", method: http.MethodDelete, bucket: in.Bucket, key: in.Key})
	return nil, err
}

// opCreateFolder makes a zero-byte object whose key ends in '/', which S3
// consoles show as a folder.
func opCreateFolder(c *call) (any, error) {
	var in objectInput
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(in.Key, "/") {
		in.Key += "/"
	}
	if strings.Contains(strings.TrimSuffix(in.Key, "/"), "//") || in.Key == "/" {
		return nil, badRequest("A folder name must not be empty.")
	}
	_, err := c.do(upstream{service: "s3", op: "PutObject", method: http.MethodPut, bucket: in.Bucket, key: in.Key,
		header: http.Header{"Content-Type": {"application/x-directory"}}})
	return map[string]string{"key": in.Key}, err
}

// --- bucket policy, Block Public Access, CORS ---

type publicAccessBlock struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration" json:"-"`
	Xmlns                 string   `xml:"xmlns,attr" json:"-"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls" json:"blockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls" json:"ignorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy" json:"blockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets" json:"restrictPublicBuckets"`
}

func isCode(err error, code string) bool {
	var e *s3err.Error
	return errors.As(err, &e) && e.Code == code
}

func opGetPolicy(c *call) (any, error) {
	var in bucketInput
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	out := map[string]any{"policy": ""}
	resp, err := c.do(upstream{service: "s3", op: "GetBucketPolicy", method: http.MethodGet, bucket: in.Bucket, query: url.Values{"policy": {""}}})
	switch {
	case err == nil:
		out["policy"] = resp.body.String()
	case isCode(err, "NoSuchBucketPolicy"):
	default:
		return nil, err
	}
	resp, err = c.do(upstream{service: "s3", op: "GetPublicAccessBlock", method: http.MethodGet, bucket: in.Bucket, query: url.Values{"publicAccessBlock": {""}}})
	switch {
	case err == nil:
		var pab publicAccessBlock
		if err := decodeXML(resp, &pab); err != nil {
			return nil, err
		}
		out["publicAccessBlock"] = pab
	case isCode(err, "NoSuchPublicAccessBlockConfiguration"):
		out["publicAccessBlock"] = publicAccessBlock{}
	default:
		// Reading Block Public Access may be denied while the policy is not.
		out["publicAccessBlockError"] = err
	}
	return out, nil
}

func opPutPolicy(c *call) (any, error) {
	var in struct {
		Bucket string `json:"bucket"`
		Policy string `json:"policy"`
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (bucketInput{in.Bucket}).check(); err != nil {
		return nil, err
	}
	_, err := c.do(upstream{service: "s3", op: "PutBucketPolicy", method: http.MethodPut, bucket: in.Bucket, query: url.Values{"policy": {""}}, body: []byte(in.Policy)})
	return nil, err
}

func opDeletePolicy(c *call) (any, error) {
	var in bucketInput
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	_, err := c.do(upstream{service: "s3", op: "DeleteBucketPolicy", method: http.MethodDelete, bucket: in.Bucket, query: url.Values{"policy": {""}}})
	return nil, err
}

func opPutPublicAccessBlock(c *call) (any, error) {
	var in struct {
		Bucket string `json:"bucket"`
		publicAccessBlock
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (bucketInput{in.Bucket}).check(); err != nil {
		return nil, err
	}
	pab := in.publicAccessBlock
	pab.Xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"
	doc, _ := xml.Marshal(pab)
	_, err := c.do(upstream{service: "s3", op: "PutPublicAccessBlock", method: http.MethodPut, bucket: in.Bucket, query: url.Values{"publicAccessBlock": {""}}, body: doc})
	return nil, err
}

// corsConfig is S3's CORSConfiguration document; its JSON form is the one
// the AWS CLI uses (put-bucket-cors --cors-configuration).
type corsConfig struct {
	XMLName xml.Name   `xml:"CORSConfiguration" json:"-"`
	Rules   []corsRule `xml:"CORSRule" json:"CORSRules"`
}

type corsRule struct {
	ID             string   `xml:"ID,omitempty" json:"ID,omitempty"`
	AllowedOrigins []string `xml:"AllowedOrigin" json:"AllowedOrigins"`
	AllowedMethods []string `xml:"AllowedMethod" json:"AllowedMethods"`
	AllowedHeaders []string `xml:"AllowedHeader,omitempty" json:"AllowedHeaders,omitempty"`
	ExposeHeaders  []string `xml:"ExposeHeader,omitempty" json:"ExposeHeaders,omitempty"`
	MaxAgeSeconds  *int     `xml:"MaxAgeSeconds,omitempty" json:"MaxAgeSeconds,omitempty"`
}

func (c *call) getCORS(bucket string) (*corsConfig, string, error) {
	resp, err := c.do(upstream{service: "s3", op: "GetBucketCors", method: http.MethodGet, bucket: bucket, query: url.Values{"cors": {""}}})
	if isCode(err, "NoSuchCORSConfiguration") {
		return &corsConfig{}, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	var cfg corsConfig
	if err := decodeXML(resp, &cfg); err != nil {
		return nil, "", err
	}
	return &cfg, resp.body.String(), nil
}

// consoleRuleFor is the CORS rule that lets the console at origin upload to
// and read from a bucket directly (presigned POST, presigned part PUTs).
func consoleRuleFor(origin string) corsRule {
	age := 3000
	return corsRule{ID: "postern-console", AllowedOrigins: []string{origin}, AllowedMethods: []string{"GET", "HEAD", "PUT", "POST"},
		AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: &age}
}

// allows reports whether some rule admits origin for every method.
func (cfg *corsConfig) allows(origin string, methods ...string) bool {
	for _, m := range methods {
		ok := false
		for _, r := range cfg.Rules {
			if (contains(r.AllowedOrigins, origin) || contains(r.AllowedOrigins, "*")) && contains(r.AllowedMethods, m) && contains(r.AllowedHeaders, "*") {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// needsCORS reports whether the console is on another origin than the S3
// API, so that the browser's direct uploads need a CORS rule.
func (c *call) needsCORS() bool {
	return originOf(c.h.s3Endpoint(c.r)) != consoleOrigin(c.r)
}

func opGetCors(c *call) (any, error) {
	var in bucketInput
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	cfg, raw, err := c.getCORS(in.Bucket)
	if err != nil {
		return nil, err
	}
	if cfg.Rules == nil {
		cfg.Rules = []corsRule{}
	}
	origin := consoleOrigin(c.r)
	return map[string]any{"xml": raw, "config": cfg, "origin": origin, "needed": c.needsCORS(),
		"consoleAllowed": !c.needsCORS() || cfg.allows(origin, "PUT", "POST")}, nil
}

// parseCORSDocument accepts S3's XML or the AWS CLI's JSON and returns XML.
func parseCORSDocument(doc string) ([]byte, error) {
	doc = strings.TrimSpace(doc)
	if strings.HasPrefix(doc, "<") {
		return []byte(doc), nil // the server validates it
	}
	var cfg corsConfig
	if err := jsonStrict(doc, &cfg); err != nil {
		return nil, s3err.New(http.StatusBadRequest, "MalformedJSON", "The CORS document is neither XML nor valid JSON ({\"CORSRules\": [...]}): "+err.Error())
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(cfg); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func opPutCors(c *call) (any, error) {
	var in struct {
		Bucket   string `json:"bucket"`
		Document string `json:"document"`
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (bucketInput{in.Bucket}).check(); err != nil {
		return nil, err
	}
	doc, err := parseCORSDocument(in.Document)
	if err != nil {
		return nil, err
	}
	_, err = c.do(upstream{service: "s3", op: "PutBucketCors", method: http.MethodPut, bucket: in.Bucket, query: url.Values{"cors": {""}}, body: doc,
		header: http.Header{"Content-Md5": {contentMD5(doc)}}})
	return nil, err
}

func opDeleteCors(c *call) (any, error) {
	var in bucketInput
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	_, err := c.do(upstream{service: "s3", op: "DeleteBucketCors", method: http.MethodDelete, bucket: in.Bucket, query: url.Values{"cors": {""}}})
	return nil, err
}

func opAllowConsoleCors(c *call) (any, error) {
	var in bucketInput
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	return c.allowConsoleCORS(in.Bucket)
}

// allowConsoleCORS adds the console's rule to the bucket's CORS rules,
// keeping the others.
func (c *call) allowConsoleCORS(bucket string) (any, error) {
	cfg, _, err := c.getCORS(bucket)
	if err != nil {
		return nil, err
	}
	origin := consoleOrigin(c.r)
	if cfg.allows(origin, "PUT", "POST") {
		return map[string]any{"changed": false}, nil
	}
	cfg.Rules = append(cfg.Rules, consoleRuleFor(origin))
	doc, _ := xml.Marshal(cfg)
	_, err = c.do(upstream{service: "s3", op: "PutBucketCors", method: http.MethodPut, bucket: bucket, query: url.Values{"cors": {""}}, body: doc,
		header: http.Header{"Content-Md5": {contentMD5(doc)}}})
	if err != nil {
		return nil, err
	}
	return map[string]any{"changed": true}, nil
}
