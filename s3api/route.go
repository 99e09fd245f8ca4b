package s3api

import (
	"net"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/postern/postern/proto/s3err"
)

// MaxKeyLength is S3's limit on object key length, in bytes of UTF-8.
const MaxKeyLength = 1024

// route finds the bucket, key and operation of a request.
func (h *Handler) route(req *request) error {
	r := req.r
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		return s3err.InvalidRequest("The request path must start with '/'.")
	}
	if b := h.hostBucket(r.Host); b != "" {
		req.bucket = b
		req.key = path[1:]
	} else {
		rest := path[1:]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			req.bucket, req.key = rest[:i], rest[i+1:]
		} else {
			req.bucket = rest
		}
	}
	if len(req.key) > MaxKeyLength {
		return s3err.KeyTooLongError()
	}
	if !utf8.ValidString(req.key) {
		return s3err.New(http.StatusBadRequest, "InvalidURI", "Couldn't parse the specified URI.")
	}
	req.op = operationName(r, req.query(), req.bucket, req.key)
	return nil
}

// hostBucket returns the bucket named by a virtual-host-style Host header, if any.
func (h *Handler) hostBucket(host string) string {
	if h.opts.Domain == "" {
		return ""
	}
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	host = strings.ToLower(host)
	suffix := "." + strings.ToLower(h.opts.Domain)
	if strings.HasSuffix(host, suffix) && len(host) > len(suffix) {
		return host[:len(host)-len(suffix)]
	}
	return ""
}

// operationName names the S3 operation from method, bucket, key and query.
// Sub-resources we do not implement map to names with no handler, which
// answer NotImplemented.
func operationName(r *http.Request, q query, bucket, key string) string {
	has := q.Has
	m := r.Method
	if bucket == "" {
		if m == http.MethodGet {
			return "ListBuckets"
		}
		return "Unsupported"
	}
	if key == "" {
		for _, sub := range bucketSubresources {
			if has(sub.query) {
				return sub.prefix[m] + sub.name
			}
		}
		switch m {
		case http.MethodGet:
			if has("uploads") {
				return "ListMultipartUploads"
			}
			if q.Get("list-type") == "2" {
				return "ListObjectsV2"
			}
			if has("versions") {
				return "ListObjectVersions"
			}
			return "ListObjects"
		case http.MethodPut:
			return "CreateBucket"
		case http.MethodDelete:
			return "DeleteBucket"
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodPost:
			if has("delete") {
				return "DeleteObjects"
			}
			return "PostObject"
		}
		return "Unsupported"
	}
	for _, sub := range objectSubresources {
		if has(sub.query) {
			return sub.prefix[m] + sub.name
		}
	}
	switch m {
	case http.MethodGet:
		if has("uploadId") {
			return "ListParts"
		}
		return "GetObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodPut:
		if has("uploadId") || has("partNumber") {
			if r.Header.Get("x-amz-copy-source") != "" {
				return "UploadPartCopy"
			}
			return "UploadPart"
		}
		if r.Header.Get("x-amz-copy-source") != "" {
			return "CopyObject"
		}
		return "PutObject"
	case http.MethodDelete:
		if has("uploadId") {
			return "AbortMultipartUpload"
		}
		return "DeleteObject"
	case http.MethodPost:
		if has("uploads") {
			return "CreateMultipartUpload"
		}
		if has("uploadId") {
			return "CompleteMultipartUpload"
		}
		return "Unsupported"
	}
	return "Unsupported"
}

type subresource struct {
	query  string
	name   string
	prefix map[string]string
}

var gpd = map[string]string{http.MethodGet: "Get", http.MethodPut: "Put", http.MethodDelete: "Delete", http.MethodHead: "Get", http.MethodPost: "Post"}

// bucketSubresources are the ?sub-resources that select a bucket
// configuration operation, e.g. GET ?policy → GetBucketPolicy.
var bucketSubresources = []subresource{
	{"location", "BucketLocation", gpd},
	{"policy", "BucketPolicy", gpd},
	{"policyStatus", "BucketPolicyStatus", gpd},
	{"publicAccessBlock", "PublicAccessBlock", gpd},
	{"cors", "BucketCors", gpd},
	{"versioning", "BucketVersioning", gpd},
	{"acl", "BucketAcl", gpd},
	{"tagging", "BucketTagging", gpd},
	{"lifecycle", "BucketLifecycleConfiguration", gpd},
	{"encryption", "BucketEncryption", gpd},
	{"website", "BucketWebsite", gpd},
	{"logging", "BucketLogging", gpd},
	{"notification", "BucketNotificationConfiguration", gpd},
	{"replication", "BucketReplication", gpd},
	{"object-lock", "ObjectLockConfiguration", gpd},
	{"ownershipControls", "BucketOwnershipControls", gpd},
	{"requestPayment", "BucketRequestPayment", gpd},
	{"accelerate", "BucketAccelerateConfiguration", gpd},
	{"analytics", "BucketAnalyticsConfiguration", gpd},
	{"metrics", "BucketMetricsConfiguration", gpd},
	{"inventory", "BucketInventoryConfiguration", gpd},
	{"intelligent-tiering", "BucketIntelligentTieringConfiguration", gpd},
}

var objectSubresources = []subresource{
	{"acl", "ObjectAcl", gpd},
	{"tagging", "ObjectTagging", gpd},
	{"retention", "ObjectRetention", gpd},
	{"legal-hold", "ObjectLegalHold", gpd},
	{"torrent", "ObjectTorrent", gpd},
	{"restore", "RestoreObject", map[string]string{http.MethodPost: ""}},
	{"select", "SelectObjectContent", map[string]string{http.MethodPost: ""}},
	{"attributes", "ObjectAttributes", gpd},
}
