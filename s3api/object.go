package s3api

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postern/postern/blob"
	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/checksum"
	"github.com/postern/postern/proto/s3err"
)

// httpTime is the format of Last-Modified and the conditional request headers.
const httpTime = http.TimeFormat

// objectMetadata reads the metadata headers of PutObject, CopyObject (REPLACE)
// and CreateMultipartUpload.
func objectMetadata(hdr http.Header) (meta.Object, error) {
	o := meta.Object{
		ContentType:        hdr.Get("Content-Type"),
		ContentEncoding:    hdr.Get("Content-Encoding"),
		ContentDisposition: hdr.Get("Content-Disposition"),
		ContentLanguage:    hdr.Get("Content-Language"),
		CacheControl:       hdr.Get("Cache-Control"),
		Expires:            hdr.Get("Expires"),
	}
	// aws-chunked is a transfer detail, not part of the stored encoding.
	if o.ContentEncoding != "" {
		var keep []string
		for _, p := range strings.Split(o.ContentEncoding, ",") {
			if p = strings.TrimSpace(p); p != "" && !strings.EqualFold(p, "aws-chunked") {
				keep = append(keep, p)
			}
		}
		o.ContentEncoding = strings.Join(keep, ",")
	}
	if sc := hdr.Get("x-amz-storage-class"); sc != "" {
		switch sc {
		case "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "OUTPOSTS", "SNOW", "EXPRESS_ONEZONE":
		default:
			return o, s3err.InvalidStorageClass()
		}
	}
	total := 0
	for name, vals := range hdr {
		lname := strings.ToLower(name)
		if !strings.HasPrefix(lname, "x-amz-meta-") {
			continue
		}
		k := lname[len("x-amz-meta-"):]
		v := strings.Join(vals, ",")
		if o.UserMeta == nil {
			o.UserMeta = map[string]string{}
		}
		o.UserMeta[k] = v
		total += len(k) + len(v)
	}
	if total > MaxUserMetadata {
		return o, s3err.MetadataTooLarge()
	}
	return o, checkStoredMetadata(&o)
}

// checkStoredMetadata refuses stored metadata (the content headers, and
// x-amz-meta-* names and values) that is not text every metadata store
// keeps as given and every GET can send back as a header: it must be valid
// UTF-8 (PostgreSQL's text refuses anything else, SQLite would keep the
// bytes) and hold no control character but tab (no NUL, which PostgreSQL
// cannot store; net/http refuses the others in request headers, so they
// only arrive through POST form fields). PutObject, CopyObject (REPLACE),
// CreateMultipartUpload and POST Object all pass their metadata through
// here, so every store answers the same 400 InvalidArgument naming the
// header, instead of one store keeping it and another failing with a 500.
func checkStoredMetadata(o *meta.Object) error {
	for _, f := range [...]struct{ name, value string }{
		{"Content-Type", o.ContentType},
		{"Content-Encoding", o.ContentEncoding},
		{"Content-Disposition", o.ContentDisposition},
		{"Content-Language", o.ContentLanguage},
		{"Cache-Control", o.CacheControl},
		{"Expires", o.Expires},
	} {
		if err := storableText(f.name, f.value, "value"); err != nil {
			return err
		}
	}
	// Sorted, so that a request with several bad headers always names the
	// same one.
	names := make([]string, 0, len(o.UserMeta))
	for k := range o.UserMeta {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if err := storableText("x-amz-meta-"+k, k, "name"); err != nil {
			return err
		}
		if err := storableText("x-amz-meta-"+k, o.UserMeta[k], "value"); err != nil {
			return err
		}
	}
	return nil
}

// storableText returns InvalidArgument naming header when s, its name or
// its value (what), is not valid UTF-8 or holds a control character other
// than tab.
func storableText(header, s, what string) error {
	bad := ""
	if !utf8.ValidString(s) {
		bad = "is not valid UTF-8"
	} else if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
		bad = "contains a control character"
	}
	if bad == "" {
		return nil
	}
	// The header is named by the message and ArgumentName, with U+FFFD for
	// the bad bytes of a bad name; the value is never echoed.
	name := strings.ToValidUTF8(header, "\uFFFD")
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '\uFFFD'
		}
		return r
	}, name)
	e := s3err.InvalidArgument(fmt.Sprintf("The %s of header %s %s.", what, name, bad))
	e.Extra = append(e.Extra, s3err.KV{Key: "ArgumentName", Value: name})
	return e
}

// writeObjectHeaders sets the response headers describing o.
var acceptRangesBytes = []string{"bytes"}

func writeObjectHeaders(h http.Header, o *meta.Object) {
	ct := o.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	// One backing array for the four values; each slice is capped so that
	// an append elsewhere copies instead of overwriting its neighbour.
	v := []string{ct, `"` + o.ETag + `"`, o.LastModified.UTC().Format(httpTime)}
	h["Content-Type"] = v[0:1:1]
	h["Etag"] = v[1:2:2]
	h["Last-Modified"] = v[2:3:3]
	h["Accept-Ranges"] = acceptRangesBytes
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set("Content-Encoding", o.ContentEncoding)
	set("Content-Disposition", o.ContentDisposition)
	set("Content-Language", o.ContentLanguage)
	set("Cache-Control", o.CacheControl)
	set("Expires", o.Expires)
	for k, v := range o.UserMeta {
		h["X-Amz-Meta-"+k] = []string{v}
	}
}

func (h *Handler) putObject(req *request, b *meta.Bucket) error {
	r := req.r
	o, err := objectMetadata(r.Header)
	if err != nil {
		return err
	}
	cond, err := writeConditions(r.Header)
	if err != nil {
		return err
	}
	var sk *sink
	defer func() {
		if sk != nil {
			sk.Abort()
		}
	}()
	got, err := h.receiveBody(req, func(size int64) (io.Writer, error) {
		var err error
		sk, err = h.newSink(req.r.Context(), size, true)
		return sk, err
	}, "")
	if err != nil {
		return err
	}
	o.Inline, o.Segments, err = sk.Finish(got.size)
	if err != nil {
		return err
	}
	o.Bucket, o.Key = b.Name, req.key
	o.Size = got.size
	o.ETag = got.etag
	o.LastModified = h.now().UTC()
	o.Checksums = got.checksums
	if len(o.Checksums) > 0 {
		o.ChecksumType = "FULL_OBJECT"
	}
	freed, err := h.deps.Meta.PutObject(r.Context(), o, shareCondition(req, cond))
	if err != nil {
		h.freeBlobs(req.r.Context(), segmentBlobs(o.Segments))
		return mapMetaErr(err)
	}
	h.freeBlobs(req.r.Context(), freed)
	hd := req.w.Header()
	hd.Set("ETag", `"`+o.ETag+`"`)
	for alg, v := range o.Checksums {
		hd.Set(checksum.HeaderName(alg), v)
	}
	if len(o.Checksums) > 0 {
		hd.Set("x-amz-checksum-type", o.ChecksumType)
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// writeConditions reads If-Match / If-None-Match of a write (PutObject,
// CopyObject, CompleteMultipartUpload) into the precondition the metadata
// store checks in the write's own transaction (S3 conditional writes).
func writeConditions(hdr http.Header) (meta.Condition, error) {
	im, inm := hdr.Get("If-Match"), hdr.Get("If-None-Match")
	if inm != "" && inm != "*" {
		return meta.Condition{}, s3err.New(http.StatusNotImplemented, "NotImplemented", "If-None-Match on writes supports only '*'")
	}
	return meta.Condition{IfMatch: conditionETag(im), IfNoneMatch: inm}, nil
}

// deleteConditions reads If-Match of a DeleteObject (S3 conditional deletes).
func deleteConditions(hdr http.Header) meta.Condition {
	return meta.Condition{IfMatch: conditionETag(hdr.Get("If-Match"))}
}

// conditionETag turns an If-Match value ("etag", W/"etag", etag or *) into
// the bare ETag (or "*") the store compares.
func conditionETag(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "W/")
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return v
}

func mapMetaErr(err error) error {
	var e *s3err.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, meta.ErrNoSuchBucket):
		return s3err.NoSuchBucket()
	case errors.Is(err, meta.ErrNoSuchKey):
		return s3err.NoSuchKey()
	case errors.Is(err, meta.ErrNoSuchUpload):
		return s3err.NoSuchUpload()
	case errors.Is(err, meta.ErrPreconditionFail):
		return s3err.PreconditionFailed()
	}
	return err
}

// etagMatches reports whether an If-Match / If-None-Match list matches etag.
func etagMatches(list, etag string) bool {
	for _, c := range strings.Split(list, ",") {
		c = strings.TrimSpace(c)
		c = strings.TrimPrefix(c, "W/")
		if c == "*" || strings.Trim(c, `"`) == etag {
			return true
		}
	}
	return false
}

// checkReadConditions evaluates If-Match, If-Unmodified-Since, If-None-Match
// and If-Modified-Since in the order RFC 9110 and S3 use. It returns 304 or
// 412 as an *s3err.Error, or nil to serve the object.
func checkReadConditions(hdr http.Header, etag string, lastMod time.Time, prefix string) error {
	lastMod = lastMod.Truncate(time.Second)
	im := hdr.Get(prefix + "If-Match")
	ius := hdr.Get(prefix + "If-Unmodified-Since")
	inm := hdr.Get(prefix + "If-None-Match")
	ims := hdr.Get(prefix + "If-Modified-Since")
	if im != "" {
		if !etagMatches(im, etag) {
			return s3err.PreconditionFailed()
		}
	} else if ius != "" {
		if t, err := http.ParseTime(ius); err == nil && lastMod.After(t) {
			return s3err.PreconditionFailed()
		}
	}
	notModified := func() error {
		if prefix != "" {
			return s3err.PreconditionFailed() // copy-source conditions fail with 412
		}
		return &s3err.Error{Status: http.StatusNotModified}
	}
	if inm != "" {
		if etagMatches(inm, etag) {
			return notModified()
		}
	} else if ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !lastMod.After(t) {
			return notModified()
		}
	}
	return nil
}

// byteRange is an inclusive range of object bytes.
type byteRange struct{ start, end int64 }

// parseRange parses a single-range "bytes=" header against size. ok is false
// when the header should be ignored (not a bytes range, several ranges, or
// malformed: S3 then serves the whole object).
func parseRange(v string, size int64) (br byteRange, ok bool, err error) {
	spec, found := strings.CutPrefix(v, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return br, false, nil
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return br, false, nil
	}
	unsatisfiable := func() error {
		e := s3err.InvalidRange()
		e.Extra = append(e.Extra, kv("RangeRequested", v), kv("ActualObjectSize", itoa(size)))
		return e
	}
	if first == "" {
		n, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil || n < 0 {
			return br, false, nil
		}
		if n == 0 {
			return br, false, unsatisfiable()
		}
		if n > size {
			n = size
		}
		if size == 0 {
			return br, false, unsatisfiable()
		}
		return byteRange{size - n, size - 1}, true, nil
	}
	s, perr := strconv.ParseInt(first, 10, 64)
	if perr != nil || s < 0 {
		return br, false, nil
	}
	e := size - 1
	if last != "" {
		n, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil || n < s {
			return br, false, nil
		}
		e = min(n, size-1)
	}
	if s >= size {
		return br, false, unsatisfiable()
	}
	return byteRange{s, e}, true, nil
}

// responseOverrides are the GET query parameters that replace response headers.
var responseOverrides = [][2]string{
	{"response-content-type", "Content-Type"},
	{"response-content-language", "Content-Language"},
	{"response-expires", "Expires"},
	{"response-cache-control", "Cache-Control"},
	{"response-content-disposition", "Content-Disposition"},
	{"response-content-encoding", "Content-Encoding"},
}

// objectHeader names the response headers getObject sets from an object
// (besides x-amz-meta-* and x-amz-checksum-*).
var objectHeader = map[string]bool{
	"Content-Type": true, "Etag": true, "Last-Modified": true, "Accept-Ranges": true,
	"Content-Encoding": true, "Content-Disposition": true, "Content-Language": true,
	"Cache-Control": true, "Expires": true, "Content-Length": true, "Content-Range": true,
	"X-Amz-Mp-Parts-Count": true,
}

// errBlobGone reports that an object's file vanished before its bytes were
// sent: the object was replaced or deleted right after it was looked up.
var errBlobGone = errors.New("s3api: object replaced while being read")

// getObject serves GetObject and HeadObject. If the object is replaced
// between its lookup and the opening of its file, it looks again, once.
// ?versionId=null reads the object, which is its key's null version, and
// with no object is NoSuchVersion; any other version id is refused.
func (h *Handler) getObject(req *request, b *meta.Bucket) error {
	vid, versioned, err := versionIDParam(req.r.URL.RawQuery)
	if err != nil {
		return err
	}
	err = h.getObjectOnce(req, b)
	if versioned {
		if e, ok := err.(*s3err.Error); ok && e.Code == "NoSuchKey" {
			return errNoSuchVersion(req.key, vid)
		}
	}
	if !errors.Is(err, errBlobGone) {
		return err
	}
	// Nothing was sent: drop the first version's object headers and retry.
	hd := req.w.Header()
	for k := range hd {
		if objectHeader[k] || strings.HasPrefix(k, "X-Amz-Meta-") || strings.HasPrefix(k, "X-Amz-Checksum-") {
			delete(hd, k)
		}
	}
	if err := h.getObjectOnce(req, b); !errors.Is(err, errBlobGone) {
		return err
	}
	if versioned {
		return errNoSuchVersion(req.key, vid)
	}
	return s3err.NoSuchKey()
}

func (h *Handler) getObjectOnce(req *request, b *meta.Bucket) error {
	r := req.r
	q := req.query()
	o, err := h.deps.Meta.GetObject(r.Context(), b.Name, req.key)
	if err != nil {
		e := mapMetaErr(err)
		if ee, ok := e.(*s3err.Error); ok && ee.Code == "NoSuchKey" {
			ee.Extra = append(ee.Extra, kv("Key", req.key))
		}
		return e
	}
	hd := req.w.Header()
	if err := checkReadConditions(r.Header, o.ETag, o.LastModified, ""); err != nil {
		if e, ok := err.(*s3err.Error); ok && e.Status == http.StatusNotModified {
			hd.Set("ETag", `"`+o.ETag+`"`)
			hd.Set("Last-Modified", o.LastModified.UTC().Format(httpTime))
			req.w.WriteHeader(http.StatusNotModified)
			return nil
		}
		return err
	}

	rng := byteRange{0, o.Size - 1}
	status := http.StatusOK
	partial := false
	if pn := q.Get("partNumber"); pn != "" {
		if r.Header.Get("Range") != "" {
			return s3err.InvalidRequest("Cannot specify both Range header and partNumber query parameter")
		}
		n, err := strconv.Atoi(pn)
		if err != nil || n < 1 || n > MaxPartNumber {
			return s3err.InvalidArgument("Part number must be an integer between 1 and 10000, inclusive")
		}
		count := max(o.PartsCount, 1)
		if n > count {
			e := s3err.New(http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber", "The requested partnumber is not satisfiable")
			e.Extra = append(e.Extra, kv("PartNumberRequested", pn), kv("ActualPartCount", itoa(int64(count))))
			return e
		}
		if o.PartsCount > 0 {
			var off int64
			for i := 0; i < n-1; i++ {
				off += o.Segments[i].Size
			}
			rng = byteRange{off, off + o.Segments[n-1].Size - 1}
			hd.Set("x-amz-mp-parts-count", strconv.Itoa(o.PartsCount))
		}
		status, partial = http.StatusPartialContent, true
	} else if rh := r.Header.Get("Range"); rh != "" {
		br, ok, err := parseRange(rh, o.Size)
		if err != nil {
			return err
		}
		if ok {
			rng, status, partial = br, http.StatusPartialContent, true
		}
	}

	for _, ov := range responseOverrides {
		if q.Has(ov[0]) && req.principal.Kind == iam.KindAnonymous {
			return s3err.InvalidRequest("Request specific response headers cannot be used for anonymous GET requests.")
		}
	}
	writeObjectHeaders(hd, &o)
	for _, ov := range responseOverrides {
		if v, ok := q.Lookup(ov[0]); ok {
			hd.Set(ov[1], v)
		}
	}
	if strings.EqualFold(r.Header.Get("x-amz-checksum-mode"), "ENABLED") && !partial {
		for alg, v := range o.Checksums {
			hd.Set(checksum.HeaderName(alg), v)
		}
		if len(o.Checksums) > 0 {
			hd.Set("x-amz-checksum-type", o.ChecksumType)
		}
	}
	length := rng.end - rng.start + 1
	if o.Size == 0 {
		length = 0
	}
	hd["Content-Length"] = []string{strconv.FormatInt(length, 10)}
	if partial {
		hd.Set("Content-Range", "bytes "+itoa(rng.start)+"-"+itoa(rng.end)+"/"+itoa(o.Size))
	}
	if r.Method == http.MethodHead || length == 0 {
		req.w.WriteHeader(status)
		return nil
	}
	return h.sendRange(req, &o, rng, status)
}

// sendHeld sends a response whose body is in memory over HTTP/1.x: the
// connection holds its writes (Options.HoldWrites) while net/http writes
// headers and body, then sends both in one write rather than net/http's two.
func (h *Handler) sendHeld(req *request, status int, body []byte) (err error) {
	if hold := h.opts.HoldWrites; hold != nil {
		release := hold(req.r.Context())
		defer func() {
			if rerr := release(); err == nil {
				err = rerr
			}
		}()
	}
	req.w.WriteHeader(status)
	if _, err := req.w.Write(body); err != nil {
		return err
	}
	return http.NewResponseController(req.w).Flush()
}

// sendRange writes bytes [rng.start, rng.end] of o, blob by blob, so that
// the kernel can send each straight from the page cache (sendfile).
func (h *Handler) sendRange(req *request, o *meta.Object, rng byteRange, status int) error {
	if o.Inline != nil {
		if int64(len(o.Inline)) != o.Size {
			return errors.New("inline object size mismatch")
		}
		body := o.Inline[rng.start : rng.end+1]
		if req.r.ProtoMajor != 1 {
			// HTTP/2 frames and flow-controls the body itself: holding its
			// writes could wait forever for a window update.
			req.w.WriteHeader(status)
			_, err := req.w.Write(body)
			return err
		}
		return h.sendHeld(req, status, body)
	}
	h.blocking.Enter()
	defer h.blocking.Leave()
	var off int64
	started := false
	for _, seg := range o.Segments {
		segStart, segEnd := off, off+seg.Size-1
		off += seg.Size
		if segEnd < rng.start || seg.Size == 0 {
			continue
		}
		if segStart > rng.end {
			break
		}
		from := max(rng.start, segStart) - segStart
		to := min(rng.end, segEnd) - segStart
		f, err := h.deps.Blobs.Open(req.r.Context(), seg.BlobID, from, to-from+1)
		if err != nil {
			if errors.Is(err, blob.ErrNotFound) && !started {
				// Replaced or deleted between the lookup and now.
				return errBlobGone
			}
			return err
		}
		if !started {
			req.w.WriteHeader(status)
			started = true
		}
		// The reader's WriteTo hands the connection what it can send
		// without copying (Dir: sendfile from the page cache).
		_, err = io.Copy(req.w, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// deleteObject serves DeleteObject. ?versionId=null deletes the object (its
// key's null version); any other version id is refused and deletes nothing.
func (h *Handler) deleteObject(req *request, b *meta.Bucket) error {
	if _, _, err := versionIDParam(req.r.URL.RawQuery); err != nil {
		return err
	}
	freed, err := h.deps.Meta.DeleteObject(req.r.Context(), b.Name, req.key, deleteConditions(req.r.Header))
	if err != nil {
		return mapMetaErr(err)
	}
	h.freeBlobs(req.r.Context(), freed)
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// MaxDeleteObjects is the most keys one DeleteObjects request may name.
const MaxDeleteObjects = 1000

// deleteObjects serves DeleteObjects. Each key is authorized on its own, as
// s3:DeleteObject on that object: a key the caller may not delete is an
// AccessDenied entry of the answer, and the other keys are deleted.
func (h *Handler) deleteObjects(req *request, b *meta.Bucket) error {
	// S3 requires an integrity check on this request: Content-MD5 or an
	// x-amz-checksum-* header.
	hdr := req.r.Header
	cr, err := parseChecksumRequest(hdr)
	if err != nil {
		return err
	}
	if hdr.Get("Content-MD5") == "" && cr.value == "" {
		return s3err.InvalidRequest("Missing required header for this request: Content-MD5")
	}
	data, err := readBody(req, 2<<20)
	if err != nil {
		return err
	}
	var algs []string
	if cr.alg != "" {
		algs = append(algs, cr.alg)
	}
	set, _ := checksum.NewSet(false, algs...)
	set.Write(data)
	if md := hdr.Get("Content-MD5"); md != "" {
		if err := set.VerifyContentMD5(md); err != nil {
			return s3err.BadDigest()
		}
	}
	if cr.value != "" {
		if err := set.Verify(map[string]string{cr.alg: cr.value}); err != nil {
			return s3err.New(http.StatusBadRequest, "BadDigest", "The "+cr.alg+" you specified did not match the calculated checksum.")
		}
	}
	var d deleteRequest
	if err := xml.Unmarshal(data, &d); err != nil || len(data) == 0 {
		return s3err.MalformedXML()
	}
	if len(d.Objects) == 0 || len(d.Objects) > MaxDeleteObjects {
		return s3err.MalformedXML()
	}
	res := deleteResult{Xmlns: s3Namespace}
	for _, ob := range d.Objects {
		key := ob.Key
		switch {
		case key == "" || len(key) > MaxKeyLength:
			res.Errors = append(res.Errors, deleteError{Key: key, VersionID: ob.VersionID, Code: "InvalidArgument", Message: "Invalid key"})
			continue
		}
		v := objectVersion{named: ob.VersionID != nil}
		if v.named {
			v.id = *ob.VersionID
		}
		if err := h.authorizeVersion(req, "s3:DeleteObject", b, key, v); err != nil {
			e, _ := h.toError(err)
			res.Errors = append(res.Errors, deleteError{Key: key, VersionID: ob.VersionID, Code: e.Code, Message: e.Message})
			continue
		}
		// An entry naming a version deletes that version only. The null
		// version is the object; AWS answers a version id it cannot have
		// issued (an empty one too) with NoSuchVersion, and so does
		// Postern, keeping the object.
		if ob.VersionID != nil && !meta.IsVersionID(*ob.VersionID) {
			res.Errors = append(res.Errors, deleteError{Key: key, VersionID: ob.VersionID, Code: "NoSuchVersion", Message: "The specified version does not exist."})
			continue
		}
		freed, err := h.deps.Meta.DeleteObject(req.r.Context(), b.Name, key, meta.Condition{})
		if err != nil {
			e, known := h.toError(mapMetaErr(err))
			if !known {
				h.log.Error("DeleteObjects: delete", "request_id", req.id, "err", err)
			}
			res.Errors = append(res.Errors, deleteError{Key: key, VersionID: ob.VersionID, Code: e.Code, Message: e.Message})
			continue
		}
		h.freeBlobs(req.r.Context(), freed)
		if !d.Quiet {
			res.Deleted = append(res.Deleted, deletedObject{Key: key, VersionID: ob.VersionID})
		}
	}
	return writeXML(req.w, http.StatusOK, res)
}

func segmentBlobs(segs []meta.Segment) []string {
	ids := make([]string, 0, len(segs))
	for _, s := range segs {
		ids = append(ids, s.BlobID)
	}
	return ids
}
