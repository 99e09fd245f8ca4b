package s3api

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/s3err"
)

// MaxListKeys is the most keys S3 returns in one listing page.
const MaxListKeys = 1000

// parseMaxKeys reads max-keys-style parameters: default def, capped at limit.
func parseMaxKeys(q query, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e := s3err.InvalidArgument("Provided " + name + " not an integer or within integer range")
		e.Extra = append(e.Extra, kv("ArgumentName", name), kv("ArgumentValue", v))
		return 0, e
	}
	if n < 0 {
		e := s3err.InvalidArgument("Argument " + name + " must be an integer between 0 and 2147483647")
		e.Extra = append(e.Extra, kv("ArgumentName", name), kv("ArgumentValue", v))
		return 0, e
	}
	return min(n, def), nil
}

func encodingType(q query) (string, error) {
	et := q.Get("encoding-type")
	if et != "" && !strings.EqualFold(et, "url") {
		e := s3err.InvalidArgument("Invalid Encoding Method specified in Request")
		e.Extra = append(e.Extra, kv("ArgumentName", "encoding-type"), kv("ArgumentValue", et))
		return "", e
	}
	if et != "" {
		et = "url"
	}
	return et, nil
}

// s3URLEncode encodes a key as S3 does for encoding-type=url: like a query
// component, with '/' kept as is.
func s3URLEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

func (h *Handler) listPage(req *request, b *meta.Bucket, prefix, delim, after string, maxKeys int) (meta.ListObjectsResult, error) {
	return h.deps.Meta.ListObjects(req.r.Context(), b.Name, meta.ListObjectsOptions{
		Prefix: prefix, Delimiter: delim, After: after, MaxKeys: maxKeys,
	})
}

func (h *Handler) toListObjects(objs []meta.Object, enc string, withOwner bool, b *meta.Bucket) []listObject {
	out := make([]listObject, 0, len(objs))
	for i := range objs {
		o := &objs[i]
		lo := listObject{
			Key:          o.Key,
			LastModified: xmlTime(o.LastModified),
			ETag:         `"` + o.ETag + `"`,
			Size:         o.Size,
			StorageClass: "STANDARD",
		}
		if enc != "" {
			lo.Key = s3URLEncode(o.Key)
		}
		for alg := range o.Checksums {
			lo.ChecksumAlgorithm = alg
			lo.ChecksumType = o.ChecksumType
			break
		}
		if withOwner {
			ow := h.ownerOf(b.Owner)
			lo.Owner = &ow
		}
		out = append(out, lo)
	}
	return out
}

func prefixes(ps []string, enc string) []commonPrefix {
	out := make([]commonPrefix, 0, len(ps))
	for _, p := range ps {
		if enc != "" {
			p = s3URLEncode(p)
		}
		out = append(out, commonPrefix{Prefix: p})
	}
	return out
}

func maybeEncode(s, enc string) string {
	if enc != "" {
		return s3URLEncode(s)
	}
	return s
}

func (h *Handler) listObjectsV1(req *request, b *meta.Bucket) error {
	q := req.query()
	maxKeys, err := parseMaxKeys(q, "max-keys", MaxListKeys)
	if err != nil {
		return err
	}
	enc, err := encodingType(q)
	if err != nil {
		return err
	}
	prefix, delim, marker := q.Get("prefix"), q.Get("delimiter"), q.Get("marker")
	page, err := h.listPage(req, b, prefix, delim, marker, maxKeys)
	if err != nil {
		return err
	}
	res := listBucketResultV1{
		Xmlns:          s3Namespace,
		Name:           b.Name,
		Prefix:         maybeEncode(prefix, enc),
		Marker:         maybeEncode(marker, enc),
		MaxKeys:        maxKeys,
		Delimiter:      maybeEncode(delim, enc),
		IsTruncated:    page.IsTruncated,
		EncodingType:   enc,
		Contents:       h.toListObjects(page.Objects, enc, true, b),
		CommonPrefixes: prefixes(page.CommonPrefixes, enc),
	}
	if page.IsTruncated && delim != "" {
		res.NextMarker = maybeEncode(page.NextAfter, enc)
	}
	return writeXML(req.w, http.StatusOK, res)
}

// Continuation tokens are opaque to clients; ours carry the last key or
// prefix returned, so any node can continue a listing.
func encodeToken(after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + after))
}

func decodeToken(tok string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(b), "v1:") || !utf8.Valid(b) {
		return "", false
	}
	return string(b[3:]), true
}

func (h *Handler) listObjectsV2(req *request, b *meta.Bucket) error {
	q := req.query()
	maxKeys, err := parseMaxKeys(q, "max-keys", MaxListKeys)
	if err != nil {
		return err
	}
	enc, err := encodingType(q)
	if err != nil {
		return err
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	startAfter := q.Get("start-after")
	token, hasToken := q.Lookup("continuation-token")
	after := startAfter
	if hasToken {
		t, ok := decodeToken(token)
		if !ok || token == "" {
			e := s3err.InvalidArgument("The continuation token provided is incorrect")
			e.Extra = append(e.Extra, kv("ArgumentName", "continuation-token"))
			return e
		}
		after = t
	}
	page, err := h.listPage(req, b, prefix, delim, after, maxKeys)
	if err != nil {
		return err
	}
	res := listBucketResultV2{
		Xmlns:          s3Namespace,
		Name:           b.Name,
		Prefix:         maybeEncode(prefix, enc),
		Delimiter:      maybeEncode(delim, enc),
		MaxKeys:        maxKeys,
		EncodingType:   enc,
		KeyCount:       len(page.Objects) + len(page.CommonPrefixes),
		IsTruncated:    page.IsTruncated,
		StartAfter:     maybeEncode(startAfter, enc),
		Contents:       h.toListObjects(page.Objects, enc, q.Get("fetch-owner") == "true", b),
		CommonPrefixes: prefixes(page.CommonPrefixes, enc),
	}
	if hasToken {
		res.ContinuationToken = token
	}
	if page.IsTruncated {
		res.NextContinuationToken = encodeToken(page.NextAfter)
	}
	return writeXML(req.w, http.StatusOK, res)
}
