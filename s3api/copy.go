package s3api

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/postern/postern/blob"
	"github.com/postern/postern/checksum"
	"github.com/postern/postern/meta"
)

// MaxCopySize is the largest object CopyObject copies in one request (5 GiB).
const MaxCopySize = 5 << 30

// copySource resolves and authorizes x-amz-copy-source, checks the
// x-amz-copy-source-if-* conditions, and returns the source object.
func (h *Handler) copySource(req *request) (*meta.Object, error) {
	raw := req.r.Header.Get("x-amz-copy-source")
	src, err := url.PathUnescape(raw)
	if err != nil {
		return nil, errInvalidArgument("Invalid copy source encoding")
	}
	if i := strings.Index(src, "?versionId="); i >= 0 {
		if v := src[i+len("?versionId="):]; v != "null" && v != "" {
			return nil, errorf(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.")
		}
		src = src[:i]
	}
	src = strings.TrimPrefix(src, "/")
	bucket, key, ok := strings.Cut(src, "/")
	if !ok || bucket == "" || key == "" {
		return nil, errInvalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	if len(key) > MaxKeyLength {
		return nil, errKeyTooLong()
	}
	sb, err := h.cfg.Meta.GetBucket(req.r.Context(), bucket)
	if errors.Is(err, meta.ErrNoSuchBucket) {
		return nil, errNoSuchBucket()
	}
	if err != nil {
		return nil, err
	}
	if err := h.authorize(req, "s3:GetObject", &sb, key); err != nil {
		return nil, err
	}
	o, err := h.cfg.Meta.GetObject(req.r.Context(), bucket, key)
	if err != nil {
		return nil, mapMetaErr(err)
	}
	if err := checkReadConditions(req.r.Header, o.ETag, o.LastModified, "x-amz-copy-source-"); err != nil {
		return nil, err
	}
	return &o, nil
}

// copyBytes copies bytes [rng.start, rng.end] of src into a new blob,
// computing the ETag and, if alg is set, that checksum.
func (h *Handler) copyBytes(req *request, src *meta.Object, rng byteRange, alg string) (*blob.Writer, *checksum.Set, error) {
	var algs []string
	if alg != "" {
		algs = append(algs, alg)
	}
	set, err := checksum.NewSet(false, algs...)
	if err != nil {
		return nil, nil, err
	}
	w, err := h.cfg.Blobs.Create()
	if err != nil {
		return nil, nil, err
	}
	dst := io.MultiWriter(w, set)
	var off int64
	for _, seg := range src.Segments {
		segStart, segEnd := off, off+seg.Size-1
		off += seg.Size
		if seg.Size == 0 || segEnd < rng.start || segStart > rng.end {
			continue
		}
		f, err := h.cfg.Blobs.Open(seg.BlobID)
		if err != nil {
			w.Abort()
			if errors.Is(err, blob.ErrNotFound) {
				return nil, nil, errNoSuchKey()
			}
			return nil, nil, err
		}
		from := max(rng.start, segStart) - segStart
		to := min(rng.end, segEnd) - segStart
		_, err = io.Copy(dst, io.NewSectionReader(f, from, to-from+1))
		f.Close()
		if err != nil {
			w.Abort()
			return nil, nil, err
		}
	}
	if err := w.Commit(); err != nil {
		return nil, nil, err
	}
	return w, set, nil
}

func (h *Handler) copyObject(req *request, b *meta.Bucket) error {
	r := req.r
	src, err := h.copySource(req)
	if err != nil {
		return err
	}
	if src.Size > MaxCopySize {
		return errInvalidRequest("The specified copy source is larger than the maximum allowable size for a copy source: 5368709120")
	}
	directive := r.Header.Get("x-amz-metadata-directive")
	if directive == "" {
		directive = "COPY"
	}
	if directive != "COPY" && directive != "REPLACE" {
		return errInvalidArgument("Unknown metadata directive.")
	}
	if src.Bucket == b.Name && src.Key == req.key && directive == "COPY" && r.Header.Get("x-amz-storage-class") == "" {
		return errInvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	var o meta.Object
	if directive == "REPLACE" {
		if o, err = objectMetadata(r.Header); err != nil {
			return err
		}
	} else {
		o = meta.Object{
			ContentType: src.ContentType, ContentEncoding: src.ContentEncoding,
			ContentDisposition: src.ContentDisposition, ContentLanguage: src.ContentLanguage,
			CacheControl: src.CacheControl, Expires: src.Expires, UserMeta: src.UserMeta,
		}
	}
	alg := ""
	if a := r.Header.Get("x-amz-checksum-algorithm"); a != "" {
		var ok bool
		if alg, ok = checksum.Parse(a); !ok {
			return errInvalidRequest("Checksum algorithm provided is unsupported.")
		}
	} else {
		for a := range src.Checksums {
			alg = a
		}
	}
	w, set, err := h.copyBytes(req, src, byteRange{0, src.Size - 1}, alg)
	if err != nil {
		return err
	}
	o.Bucket, o.Key = b.Name, req.key
	o.Size = src.Size
	o.ETag = set.ETag()
	o.LastModified = h.now().UTC()
	o.Segments = []meta.Segment{{BlobID: w.ID(), Size: src.Size}}
	if alg != "" {
		o.Checksums = map[string]string{alg: set.Encoded(alg)}
		o.ChecksumType = "FULL_OBJECT"
	}
	cond, err := writeConditions(r.Header)
	if err != nil {
		h.freeBlobs([]string{w.ID()})
		return err
	}
	freed, err := h.cfg.Meta.PutObject(r.Context(), o, cond)
	if err != nil {
		h.freeBlobs([]string{w.ID()})
		return mapMetaErr(err)
	}
	h.freeBlobs(freed)
	res := copyObjectResult{Xmlns: s3Namespace, LastModified: xmlTime(o.LastModified), ETag: `"` + o.ETag + `"`}
	res.ChecksumCRC32, res.ChecksumCRC32C, res.ChecksumCRC64, res.ChecksumSHA1, res.ChecksumSHA256 = checksumFields(o.Checksums)
	return writeXML(req.w, http.StatusOK, res)
}
