package s3api

import (
	"errors"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/s3err"
)

// scope says what an operation acts on, which decides what must exist first
// and which resource ARN it is authorized against.
type scope int

const (
	scopeService   scope = iota // no bucket (ListBuckets)
	scopeNewBucket              // the bucket need not exist (CreateBucket)
	scopeBucket                 // an existing bucket
	scopeObject                 // an object in an existing bucket
)

type operation struct {
	action string // the IAM action checked, as in AWS's service authorization reference
	scope  scope
	fn     func(h *Handler, req *request, b *meta.Bucket) error
}

// operations maps each S3 operation to its IAM action and handler. Operations
// missing here answer NotImplemented. An empty action means the handler
// authorizes each object it acts on: DeleteObjects each key (s3:DeleteObject
// on the object, as AWS does; there is no bucket-level check), PostObject
// the key of its form.
var operations = map[string]operation{
	"ListBuckets":             {"s3:ListAllMyBuckets", scopeService, (*Handler).listBuckets},
	"CreateBucket":            {"s3:CreateBucket", scopeNewBucket, (*Handler).createBucket},
	"DeleteBucket":            {"s3:DeleteBucket", scopeBucket, (*Handler).deleteBucket},
	"HeadBucket":              {"s3:ListBucket", scopeBucket, (*Handler).headBucket},
	"GetBucketLocation":       {"s3:GetBucketLocation", scopeBucket, (*Handler).getBucketLocation},
	"ListObjects":             {"s3:ListBucket", scopeBucket, (*Handler).listObjectsV1},
	"ListObjectsV2":           {"s3:ListBucket", scopeBucket, (*Handler).listObjectsV2},
	"ListObjectVersions":      {"s3:ListBucketVersions", scopeBucket, (*Handler).listObjectVersions},
	"DeleteObjects":           {"", scopeBucket, (*Handler).deleteObjects},
	"GetBucketVersioning":     {"s3:GetBucketVersioning", scopeBucket, (*Handler).getBucketVersioning},
	"PutBucketCors":           {"s3:PutBucketCORS", scopeBucket, (*Handler).putBucketCors},
	"GetBucketCors":           {"s3:GetBucketCORS", scopeBucket, (*Handler).getBucketCors},
	"DeleteBucketCors":        {"s3:PutBucketCORS", scopeBucket, (*Handler).deleteBucketCors},
	"PostObject":              {"", scopeBucket, (*Handler).postObject},
	"PutBucketPolicy":         {"s3:PutBucketPolicy", scopeBucket, (*Handler).putBucketPolicy},
	"GetBucketPolicy":         {"s3:GetBucketPolicy", scopeBucket, (*Handler).getBucketPolicy},
	"DeleteBucketPolicy":      {"s3:DeleteBucketPolicy", scopeBucket, (*Handler).deleteBucketPolicy},
	"GetBucketPolicyStatus":   {"s3:GetBucketPolicyStatus", scopeBucket, (*Handler).getBucketPolicyStatus},
	"PutPublicAccessBlock":    {"s3:PutBucketPublicAccessBlock", scopeBucket, (*Handler).putPublicAccessBlock},
	"GetPublicAccessBlock":    {"s3:GetBucketPublicAccessBlock", scopeBucket, (*Handler).getPublicAccessBlock},
	"DeletePublicAccessBlock": {"s3:PutBucketPublicAccessBlock", scopeBucket, (*Handler).deletePublicAccessBlock},

	"PutObject":    {"s3:PutObject", scopeObject, (*Handler).putObject},
	"GetObject":    {"s3:GetObject", scopeObject, (*Handler).getObject},
	"HeadObject":   {"s3:GetObject", scopeObject, (*Handler).getObject},
	"DeleteObject": {"s3:DeleteObject", scopeObject, (*Handler).deleteObject},
	"CopyObject":   {"s3:PutObject", scopeObject, (*Handler).copyObject},

	"CreateMultipartUpload":   {"s3:PutObject", scopeObject, (*Handler).createMultipartUpload},
	"UploadPart":              {"s3:PutObject", scopeObject, (*Handler).uploadPart},
	"UploadPartCopy":          {"s3:PutObject", scopeObject, (*Handler).uploadPartCopy},
	"CompleteMultipartUpload": {"s3:PutObject", scopeObject, (*Handler).completeMultipartUpload},
	"AbortMultipartUpload":    {"s3:AbortMultipartUpload", scopeObject, (*Handler).abortMultipartUpload},
	"ListParts":               {"s3:ListMultipartUploadParts", scopeObject, (*Handler).listParts},
	"ListMultipartUploads":    {"s3:ListBucketMultipartUploads", scopeBucket, (*Handler).listMultipartUploads},
}

// versionQueryOps are the operations whose ?versionId= names the version of
// the object they act on. They are authorized with the version action of
// their action when it is present (see versionActions); DeleteObjects
// entries and copy sources name their versions in the body and a header, and
// are authorized where those are read.
var versionQueryOps = map[string]bool{
	"GetObject":    true,
	"HeadObject":   true,
	"DeleteObject": true,
}

// run loads the bucket the operation needs, authorizes, and calls the handler.
func (op operation) run(h *Handler, req *request) error {
	var b *meta.Bucket
	key := ""
	switch op.scope {
	case scopeNewBucket:
		if err := checkBucketName(req.bucket); err != nil {
			return err
		}
	case scopeBucket, scopeObject:
		bk, err := h.deps.Meta.GetBucket(req.r.Context(), req.bucket)
		if errors.Is(err, meta.ErrNoSuchBucket) {
			if req.principal.Kind == iam.KindAnonymous {
				return s3err.AccessDenied()
			}
			e := s3err.NoSuchBucket()
			e.Extra = append(e.Extra, kv("BucketName", req.bucket))
			return e
		}
		if err != nil {
			return err
		}
		b = &bk
		h.addCORSHeaders(req, b)
		if op.scope == scopeObject {
			key = req.key
		}
	}
	// An operation without an action authorizes each object itself.
	if op.action != "" {
		var v objectVersion
		if versionQueryOps[req.op] {
			// Named as the handler reads it; a versionId it will refuse
			// still names a version (and is refused after authorization).
			id, named, err := versionIDParam(req.r.URL.RawQuery)
			v = objectVersion{named: named || err != nil, id: id}
		}
		if err := h.authorizeVersion(req, op.action, b, key, v); err != nil {
			return err
		}
	}
	return op.fn(h, req, b)
}
