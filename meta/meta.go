// Package meta defines Postern's metadata model — buckets, objects, multipart
// uploads — and the Store interface that holds it. Implementations live in
// sub-packages (meta/sqlite for the embedded default).
//
// The store never touches object bytes: those live in the blob store, and
// the metadata refers to them by opaque blob ids. Every operation that
// replaces or removes metadata returns the blob ids that became unreferenced,
// so the caller can delete those files after the transaction has committed.
package meta

import (
	"context"
	"errors"
	"time"
)

// TimePrecision is the precision of the times a Store keeps (CreatedAt,
// LastModified, Initiated): every store truncates them to the microsecond,
// what PostgreSQL's timestamptz holds, so that all stores return the same
// times. S3 shows times to the second (HTTP dates) or the millisecond (XML).
const TimePrecision = time.Microsecond

// Errors returned by a Store. Callers compare with errors.Is.
var (
	ErrNoSuchBucket     = errors.New("meta: no such bucket")
	ErrBucketExists     = errors.New("meta: bucket already exists")
	ErrBucketNotEmpty   = errors.New("meta: bucket not empty")
	ErrNoSuchKey        = errors.New("meta: no such key")
	ErrNoSuchUpload     = errors.New("meta: no such upload")
	ErrNoSuchConfig     = errors.New("meta: no such bucket configuration")
	ErrPreconditionFail = errors.New("meta: precondition failed")

	// ErrUnavailable is wrapped by the errors of a store that cannot
	// reach its database (connection refused or lost, the server shutting
	// down, a bounded wait that ran out). The request may succeed later
	// unchanged: the front ends answer 503 ServiceUnavailable. The
	// embedded SQLite store never returns it.
	ErrUnavailable = errors.New("meta: the metadata store is unreachable")
)

// Bucket is a bucket's metadata.
type Bucket struct {
	Name      string
	Owner     string // owning account id
	Region    string
	CreatedAt time.Time
	// Configs holds the bucket's configuration documents that every request
	// needs (ConfigPolicy, ConfigPublicAccessBlock, ConfigCORS), read with
	// the bucket in one query by GetBucket; absent kinds are missing.
	Configs map[string][]byte
}

// Bucket configuration kinds that GetBucket returns with the bucket.
const (
	ConfigPolicy            = "policy"
	ConfigPublicAccessBlock = "public-access-block"
	ConfigCORS              = "cors"
)

// Segment is one stretch of an object's bytes, stored as one blob file.
// A single-part object has one segment; a multipart object has one per part,
// in part order, so completing an upload never copies bytes.
type Segment struct {
	BlobID string `json:"b"`
	Size   int64  `json:"s"`
	// PartETag is the part's ETag (hex MD5, no quotes) for multipart objects;
	// empty for single-part objects.
	PartETag string `json:"e,omitempty"`
	// Checksums of this part (algorithm → base64), for multipart objects.
	Checksums map[string]string `json:"c,omitempty"`
}

// Object is the metadata of one object version (Postern keeps one version per key).
type Object struct {
	Bucket       string
	Key          string
	Size         int64
	ETag         string // hex MD5, or hex MD5-of-MD5s + "-N" for multipart; no quotes
	LastModified time.Time

	ContentType        string
	ContentEncoding    string
	ContentDisposition string
	ContentLanguage    string
	CacheControl       string
	Expires            string

	// UserMeta holds x-amz-meta-* headers: lower-case name without the prefix → value.
	UserMeta map[string]string
	// Checksums holds the object's checksums: algorithm name as S3 spells it
	// (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) → base64 value.
	Checksums map[string]string
	// ChecksumType is FULL_OBJECT or COMPOSITE (multipart), empty when no checksum.
	ChecksumType string

	// Segments are the object's bytes in order. Their sizes add up to Size.
	Segments []Segment
	// Inline, when non-nil, holds the whole (small) object and Segments is
	// empty: small objects live in the metadata row, which saves a file, its
	// fsyncs and its syscalls on every PUT and GET. A zero-byte object needs
	// neither Inline nor Segments.
	Inline []byte
	// PartsCount is the number of parts for a multipart object, 0 otherwise.
	PartsCount int
}

// Upload is an in-progress multipart upload.
type Upload struct {
	ID        string
	Bucket    string
	Key       string
	Initiated time.Time
	// Template holds the metadata given at CreateMultipartUpload (content type,
	// user metadata, checksum algorithm in Checksums keys with empty values, …).
	// Its Bucket/Key/Size/ETag/Segments fields are ignored.
	Template          Object
	ChecksumAlgorithm string // requested algorithm, "" when none
	ChecksumType      string // FULL_OBJECT or COMPOSITE, "" when none
	Owner             string // account id of the initiator
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number       int
	Segment      Segment // BlobID, Size, PartETag, Checksums
	LastModified time.Time
}

// ListObjectsOptions selects a page of a bucket listing.
type ListObjectsOptions struct {
	Prefix    string
	Delimiter string // "" for a flat listing
	// After: only keys (and common prefixes) strictly greater than After are returned.
	After   string
	MaxKeys int // 0 returns an empty, non-truncated page (as S3 does)
}

// ListObjectsResult is a page of a listing, in UTF-8 binary key order.
// Objects and CommonPrefixes together number at most MaxKeys.
type ListObjectsResult struct {
	Objects        []Object // Segments may be left empty by listings
	CommonPrefixes []string
	IsTruncated    bool
	// NextAfter is the last key or common prefix returned; pass it as After
	// to get the next page. Empty when not truncated.
	NextAfter string
}

// NullVersionID is the version id of an object written while versioning was
// never enabled on its bucket, as S3 spells it. Postern keeps one version per
// key, so every object is its key's null version, and the latest one.
const NullVersionID = "null"

// IsVersionID reports whether id has the form of a version id Postern may
// have issued. Today that is only NullVersionID.
func IsVersionID(id string) bool { return id == NullVersionID }

// ObjectVersion is one entry of a version listing: a version of an object,
// or a delete marker.
type ObjectVersion struct {
	Object       // a delete marker has only Key and LastModified
	VersionID    string
	IsLatest     bool
	DeleteMarker bool
}

// ListVersionsOptions selects a page of a version listing.
type ListVersionsOptions struct {
	Prefix    string
	Delimiter string
	// KeyMarker: only versions of keys (and common prefixes) after KeyMarker
	// are returned, unless VersionIDMarker is set.
	KeyMarker string
	// VersionIDMarker, with KeyMarker, resumes after that version of
	// KeyMarker: with the versions of KeyMarker older than it, then later
	// keys. A version that no longer exists resumes after KeyMarker.
	VersionIDMarker string
	MaxKeys         int // 0 returns an empty, non-truncated page
}

// ListVersionsResult is a page of a version listing, ordered by key (UTF-8
// binary order), then newest version first. Versions and CommonPrefixes
// together number at most MaxKeys.
type ListVersionsResult struct {
	Versions       []ObjectVersion // Segments may be left empty
	CommonPrefixes []string
	IsTruncated    bool
	// NextKeyMarker and NextVersionIDMarker resume the listing after the
	// last entry returned: a version (both set) or a common prefix
	// (NextVersionIDMarker empty). Both empty when not truncated.
	NextKeyMarker       string
	NextVersionIDMarker string
}

// ListUploadsOptions selects a page of ListMultipartUploads.
type ListUploadsOptions struct {
	Prefix         string
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string
	MaxUploads     int
}

// ListUploadsResult is a page of in-progress uploads, ordered by key, then initiation.
type ListUploadsResult struct {
	Uploads            []Upload
	CommonPrefixes     []string
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker string
}

// Condition is a precondition on the current version of an object, checked
// by the store in the same transaction as the write it guards (S3
// conditional writes and deletes). The zero Condition always holds.
type Condition struct {
	// IfMatch, when set, requires the object to exist (else ErrNoSuchKey)
	// with this ETag (hex, no quotes; else ErrPreconditionFail). "*"
	// requires only that it exists.
	IfMatch string
	// IfNoneMatch, when "*", requires that the key does not exist (else
	// ErrPreconditionFail). Any other non-empty value is refused with
	// ErrPreconditionFail too: S3 accepts only "*" on writes.
	IfNoneMatch string
}

// IsZero reports whether c has no precondition.
func (c Condition) IsZero() bool { return c.IfMatch == "" && c.IfNoneMatch == "" }

// Check evaluates c against the current object, cur (nil when the key does
// not exist). It returns nil, ErrNoSuchKey or ErrPreconditionFail.
// If-None-Match is checked first: S3 answers 412 to a write carrying both
// headers on an existing key whatever its ETag.
func (c Condition) Check(cur *Object) error {
	if c.IfNoneMatch != "" && (c.IfNoneMatch != "*" || cur != nil) {
		return ErrPreconditionFail
	}
	if c.IfMatch != "" {
		if cur == nil {
			return ErrNoSuchKey
		}
		if c.IfMatch != "*" && c.IfMatch != cur.ETag {
			return ErrPreconditionFail
		}
	}
	return nil
}

// Store holds Postern's metadata. Implementations must be safe for
// concurrent use and make every method a single atomic transaction.
type Store interface {
	// CreateBucket returns ErrBucketExists (whoever owns it) when the name is
	// taken. b.Configs are stored with the bucket, in the same transaction.
	CreateBucket(ctx context.Context, b Bucket) error
	GetBucket(ctx context.Context, name string) (Bucket, error)
	// ListBuckets lists buckets owned by owner ("" for all), by name.
	ListBuckets(ctx context.Context, owner string) ([]Bucket, error)
	// DeleteBucket fails with ErrBucketNotEmpty if it holds objects. In-progress
	// uploads are aborted; their blob ids are returned.
	DeleteBucket(ctx context.Context, name string) (freed []string, err error)

	// PutObject creates or replaces bucket/key. It returns the blob ids of the replaced version.
	// The write happens only if cond holds for the current object (Condition.Check,
	// in the same transaction); otherwise its error and nothing changes.
	PutObject(ctx context.Context, o Object, cond Condition) (freed []string, err error)
	GetObject(ctx context.Context, bucket, key string) (Object, error)
	// DeleteObject removes bucket/key if cond holds; deleting a missing key
	// without a condition is not an error (freed is empty).
	DeleteObject(ctx context.Context, bucket, key string, cond Condition) (freed []string, err error)
	ListObjects(ctx context.Context, bucket string, opt ListObjectsOptions) (ListObjectsResult, error)
	// ListVersions lists the versions of the bucket's objects.
	ListVersions(ctx context.Context, bucket string, opt ListVersionsOptions) (ListVersionsResult, error)

	CreateUpload(ctx context.Context, u Upload) error
	GetUpload(ctx context.Context, bucket, key, uploadID string) (Upload, error)
	// PutPart stores or replaces a part; returns the replaced part's blob id, if any.
	PutPart(ctx context.Context, bucket, key, uploadID string, p Part) (freed []string, err error)
	// ListParts returns parts with Number > marker, up to max, and whether more remain.
	ListParts(ctx context.Context, bucket, key, uploadID string, marker, max int) (parts []Part, truncated bool, err error)
	// CompleteUpload atomically creates the object o (whose Segments must be
	// blobs of this upload's parts), deletes the upload and returns the blob ids
	// of unused parts and of the replaced object version. cond is checked
	// against the object being replaced; when it fails the upload is kept.
	CompleteUpload(ctx context.Context, bucket, key, uploadID string, o Object, cond Condition) (freed []string, err error)
	AbortUpload(ctx context.Context, bucket, key, uploadID string) (freed []string, err error)
	ListUploads(ctx context.Context, bucket string, opt ListUploadsOptions) (ListUploadsResult, error)

	// Bucket configuration documents (policy, CORS, public access block, …), by kind.
	PutBucketConfig(ctx context.Context, bucket, kind string, doc []byte) error
	GetBucketConfig(ctx context.Context, bucket, kind string) ([]byte, error) // ErrNoSuchConfig
	DeleteBucketConfig(ctx context.Context, bucket, kind string) error

	// BlobReferenced reports which of ids are referenced by any object or part;
	// used by the orphan sweeper.
	BlobReferenced(ctx context.Context, ids []string) (map[string]bool, error)

	Close() error
}

// ObjectsPage assembles a ListObjects page from a store's entries in
// listing order: split returns an entry's common prefix, or its object.
// NextAfter is the last entry returned, and empty when not truncated.
func ObjectsPage[E any](entries []E, truncated bool, split func(E) (prefix string, o *Object)) ListObjectsResult {
	var res ListObjectsResult
	for _, e := range entries {
		if cp, o := split(e); o == nil {
			res.CommonPrefixes = append(res.CommonPrefixes, cp)
			res.NextAfter = cp
		} else {
			res.Objects = append(res.Objects, *o)
			res.NextAfter = o.Key
		}
	}
	res.IsTruncated = truncated
	if !truncated {
		res.NextAfter = ""
	}
	return res
}

// VersionsPage assembles a ListVersions page the same way. Postern keeps
// one version per key, so each object is listed once, as its key's null
// version and the latest one.
func VersionsPage[E any](entries []E, truncated bool, split func(E) (prefix string, o *Object)) ListVersionsResult {
	var res ListVersionsResult
	for _, e := range entries {
		if cp, o := split(e); o == nil {
			res.CommonPrefixes = append(res.CommonPrefixes, cp)
			res.NextKeyMarker, res.NextVersionIDMarker = cp, ""
		} else {
			res.Versions = append(res.Versions, ObjectVersion{Object: *o, VersionID: NullVersionID, IsLatest: true})
			res.NextKeyMarker, res.NextVersionIDMarker = o.Key, NullVersionID
		}
	}
	res.IsTruncated = truncated
	if !truncated {
		res.NextKeyMarker, res.NextVersionIDMarker = "", ""
	}
	return res
}
