package s3api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/postern/postern/blob"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/checksum"
	"github.com/postern/postern/proto/s3err"
)

// MaxCopySize is the largest object CopyObject copies in one request (5 GiB).
const MaxCopySize = 5 << 30

// copySource resolves and authorizes x-amz-copy-source, checks the
// x-amz-copy-source-if-* conditions, and returns the source object. A
// source ?versionId= may only name the null version, which is the object.
func (h *Handler) copySource(req *request, partCopy bool) (*meta.Object, error) {
	ref, err := parseCopySource(req.r.Header.Get("x-amz-copy-source"), partCopy)
	if err != nil {
		return nil, err
	}
	bucket, key := ref.bucket, ref.key
	sb, err := h.deps.Meta.GetBucket(req.r.Context(), bucket)
	if errors.Is(err, meta.ErrNoSuchBucket) {
		return nil, s3err.NoSuchBucket()
	}
	if err != nil {
		return nil, err
	}
	if err := h.authorizeVersion(req, "s3:GetObject", &sb, key, objectVersion{named: ref.hasVersion, id: ref.versionID}); err != nil {
		return nil, err
	}
	o, err := h.deps.Meta.GetObject(req.r.Context(), bucket, key)
	if errors.Is(err, meta.ErrNoSuchKey) && ref.hasVersion {
		return nil, errNoSuchVersion(key, ref.versionID)
	}
	if err != nil {
		return nil, mapMetaErr(err)
	}
	if err := checkReadConditions(req.r.Header, o.ETag, o.LastModified, "x-amz-copy-source-"); err != nil {
		return nil, err
	}
	return &o, nil
}

// objectReader returns a reader over bytes [rng.start, rng.end] of o.
func (h *Handler) objectReader(ctx context.Context, o *meta.Object, rng byteRange) io.Reader {
	if o.Size == 0 {
		return strings.NewReader("")
	}
	if o.Inline != nil {
		return bytes.NewReader(o.Inline[rng.start : rng.end+1])
	}
	return &segmentReader{ctx: ctx, h: h, segs: o.Segments, start: rng.start, end: rng.end}
}

// segmentReader reads a byte range across an object's blobs, opening one
// blob at a time.
type segmentReader struct {
	ctx        context.Context
	h          *Handler
	segs       []meta.Segment
	start, end int64 // remaining range, in object offsets
	off        int64 // object offset of segs[0]
	cur        io.ReadCloser
}

func (s *segmentReader) Read(p []byte) (int, error) {
	for {
		if s.cur != nil {
			n, err := s.cur.Read(p)
			if err == io.EOF {
				s.cur.Close()
				s.cur = nil
				if n > 0 {
					return n, nil
				}
				continue
			}
			return n, err
		}
		if s.start > s.end || len(s.segs) == 0 {
			return 0, io.EOF
		}
		seg := s.segs[0]
		s.segs = s.segs[1:]
		segStart, segEnd := s.off, s.off+seg.Size-1
		s.off += seg.Size
		if seg.Size == 0 || segEnd < s.start {
			continue
		}
		from := s.start - segStart
		to := min(s.end, segEnd) - segStart
		f, err := s.h.deps.Blobs.Open(s.ctx, seg.BlobID, from, to-from+1)
		if err != nil {
			if errors.Is(err, blob.ErrNotFound) {
				return 0, s3err.NoSuchKey()
			}
			return 0, err
		}
		s.cur = f
		s.start = segStart + to + 1
	}
}

// Close closes the blob being read, if any.
func (s *segmentReader) Close() error {
	if s.cur == nil {
		return nil
	}
	err := s.cur.Close()
	s.cur = nil
	return err
}

// copyBytes copies bytes [rng.start, rng.end] of src into a new sink,
// computing the ETag and, if alg is set, that checksum.
func (h *Handler) copyBytes(ctx context.Context, src *meta.Object, rng byteRange, alg string, inline bool) (*sink, *checksum.Set, error) {
	var algs []string
	if alg != "" {
		algs = append(algs, alg)
	}
	set, err := checksum.NewSet(false, algs...)
	if err != nil {
		return nil, nil, err
	}
	size := rng.end - rng.start + 1
	if src.Size == 0 {
		size = 0
	}
	sk, err := h.newSink(ctx, size, inline)
	if err != nil {
		return nil, nil, err
	}
	rd := h.objectReader(ctx, src, rng)
	if c, ok := rd.(io.Closer); ok {
		defer c.Close()
	}
	if _, err := io.Copy(io.MultiWriter(sk, set), rd); err != nil {
		sk.Abort()
		return nil, nil, err
	}
	return sk, set, nil
}

func (h *Handler) copyObject(req *request, b *meta.Bucket) error {
	r := req.r
	src, err := h.copySource(req, false)
	if err != nil {
		return err
	}
	if src.Size > MaxCopySize {
		return s3err.InvalidRequest("The specified copy source is larger than the maximum allowable size for a copy source: 5368709120")
	}
	directive := r.Header.Get("x-amz-metadata-directive")
	if directive == "" {
		directive = "COPY"
	}
	if directive != "COPY" && directive != "REPLACE" {
		return s3err.InvalidArgument("Unknown metadata directive.")
	}
	if src.Bucket == b.Name && src.Key == req.key && directive == "COPY" && r.Header.Get("x-amz-storage-class") == "" {
		return s3err.InvalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
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
			return s3err.InvalidRequest("Checksum algorithm provided is unsupported.")
		}
	} else {
		for a := range src.Checksums {
			alg = a
		}
	}
	sk, set, err := h.copyBytes(req.r.Context(), src, byteRange{0, src.Size - 1}, alg, true)
	if err != nil {
		return err
	}
	if o.Inline, o.Segments, err = sk.Finish(src.Size); err != nil {
		return err
	}
	o.Bucket, o.Key = b.Name, req.key
	o.Size = src.Size
	o.ETag = set.ETag()
	o.LastModified = h.now().UTC()
	if alg != "" {
		o.Checksums = map[string]string{alg: set.Encoded(alg)}
		o.ChecksumType = "FULL_OBJECT"
	}
	cond, err := writeConditions(r.Header)
	if err != nil {
		h.freeBlobs(req.r.Context(), segmentBlobs(o.Segments))
		return err
	}
	freed, err := h.deps.Meta.PutObject(r.Context(), o, cond)
	if err != nil {
		h.freeBlobs(req.r.Context(), segmentBlobs(o.Segments))
		return mapMetaErr(err)
	}
	h.freeBlobs(req.r.Context(), freed)
	res := copyObjectResult{Xmlns: s3Namespace, LastModified: xmlTime(o.LastModified), ETag: `"` + o.ETag + `"`}
	res.ChecksumCRC32, res.ChecksumCRC32C, res.ChecksumCRC64, res.ChecksumSHA1, res.ChecksumSHA256 = checksumFields(o.Checksums)
	return writeXML(req.w, http.StatusOK, res)
}
