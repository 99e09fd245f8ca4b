package s3api

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/postern/postern/blob"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/checksum"
	"github.com/postern/postern/proto/s3err"
)

func newUploadID() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (h *Handler) createMultipartUpload(req *request, b *meta.Bucket) error {
	r := req.r
	tmpl, err := objectMetadata(r.Header)
	if err != nil {
		return err
	}
	if err := h.admitUpload(0); err != nil {
		return err
	}
	u := meta.Upload{ID: newUploadID(), Bucket: b.Name, Key: req.key, Initiated: h.now().UTC(), Template: tmpl, Owner: req.principal.AccountID}
	if a := r.Header.Get("x-amz-checksum-algorithm"); a != "" {
		alg, ok := checksum.Parse(a)
		if !ok {
			return s3err.InvalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
		}
		u.ChecksumAlgorithm = alg
		u.ChecksumType = "COMPOSITE"
		if alg == "CRC64NVME" {
			u.ChecksumType = "FULL_OBJECT"
		}
	}
	if t := r.Header.Get("x-amz-checksum-type"); t != "" {
		if u.ChecksumAlgorithm == "" || (t != "COMPOSITE" && t != "FULL_OBJECT") {
			return s3err.InvalidRequest("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
		}
		if t == "FULL_OBJECT" && !checksum.SupportsFullObject(u.ChecksumAlgorithm) || t == "COMPOSITE" && !checksum.SupportsComposite(u.ChecksumAlgorithm) {
			return s3err.InvalidRequest(fmt.Sprintf("The %s checksum type cannot be used with the %s checksum algorithm.", t, strings.ToLower(u.ChecksumAlgorithm)))
		}
		u.ChecksumType = t
	}
	if err := h.deps.Meta.CreateUpload(r.Context(), u); err != nil {
		return mapMetaErr(err)
	}
	if u.ChecksumAlgorithm != "" {
		req.w.Header().Set("x-amz-checksum-algorithm", u.ChecksumAlgorithm)
		req.w.Header().Set("x-amz-checksum-type", u.ChecksumType)
	}
	return writeXML(req.w, http.StatusOK, initiateMultipartUploadResult{Xmlns: s3Namespace, Bucket: b.Name, Key: req.key, UploadID: u.ID})
}

func partNumber(q query) (int, error) {
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > MaxPartNumber {
		return 0, s3err.InvalidArgument("Part number must be an integer between 1 and 10000, inclusive")
	}
	return n, nil
}

func (h *Handler) upload(req *request, b *meta.Bucket) (meta.Upload, error) {
	u, err := h.deps.Meta.GetUpload(req.r.Context(), b.Name, req.key, req.query().Get("uploadId"))
	if err != nil {
		return u, mapMetaErr(err)
	}
	return u, nil
}

func (h *Handler) uploadPart(req *request, b *meta.Bucket) error {
	r := req.r
	if vid, ok := req.query().Lookup("versionId"); ok {
		return errBadVersionID("This operation does not accept a version-id.", "versionId", vid)
	}
	n, err := partNumber(req.query())
	if err != nil {
		return err
	}
	u, err := h.upload(req, b)
	if err != nil {
		return err
	}
	var w blob.Writer
	defer func() {
		if w != nil {
			w.Abort()
		}
	}()
	got, err := h.receiveBody(req, func(size int64) (io.Writer, error) {
		if err := h.admitUpload(size); err != nil {
			return nil, err
		}
		var err error
		w, err = h.deps.Blobs.Create(r.Context())
		return w, err
	}, u.ChecksumAlgorithm)
	if err != nil {
		return err
	}
	if err := w.Commit(r.Context()); err != nil {
		return err
	}
	p := meta.Part{Number: n, LastModified: h.now().UTC(), Segment: meta.Segment{BlobID: w.ID(), Size: got.size, PartETag: got.etag, Checksums: got.checksums}}
	freed, err := h.deps.Meta.PutPart(r.Context(), b.Name, req.key, u.ID, p)
	if err != nil {
		h.freeBlobs(req.r.Context(), []string{w.ID()})
		return mapMetaErr(err)
	}
	h.freeBlobs(req.r.Context(), freed)
	hd := req.w.Header()
	hd.Set("ETag", `"`+got.etag+`"`)
	for alg, v := range got.checksums {
		hd.Set(checksum.HeaderName(alg), v)
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) uploadPartCopy(req *request, b *meta.Bucket) error {
	r := req.r
	n, err := partNumber(req.query())
	if err != nil {
		return err
	}
	u, err := h.upload(req, b)
	if err != nil {
		return err
	}
	src, err := h.copySource(req, true)
	if err != nil {
		return err
	}
	rng := byteRange{0, src.Size - 1}
	if v := r.Header.Get("x-amz-copy-source-range"); v != "" {
		br, ok, err := parseRange(v, src.Size)
		if err != nil || !ok || strings.HasPrefix(v, "bytes=-") || !strings.Contains(v[len("bytes="):], "-") || strings.HasSuffix(v, "-") {
			return s3err.InvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
		}
		rng = br
	}
	if rng.end-rng.start+1 > MaxPutSize {
		return s3err.InvalidRequest("The specified copy range is larger than the maximum allowable size for a part: 5368709120")
	}
	size := rng.end - rng.start + 1
	if src.Size == 0 {
		size = 0
	}
	sk, set, err := h.copyBytes(req.r.Context(), src, rng, u.ChecksumAlgorithm, false)
	if err != nil {
		return err
	}
	if _, _, err := sk.Finish(size); err != nil {
		return err
	}
	sums := map[string]string{}
	if u.ChecksumAlgorithm != "" {
		sums[u.ChecksumAlgorithm] = set.Encoded(u.ChecksumAlgorithm)
	}
	p := meta.Part{Number: n, LastModified: h.now().UTC(), Segment: meta.Segment{BlobID: sk.BlobID(), Size: size, PartETag: set.ETag(), Checksums: sums}}
	freed, err := h.deps.Meta.PutPart(r.Context(), b.Name, req.key, u.ID, p)
	if err != nil {
		h.freeBlobs(req.r.Context(), []string{sk.BlobID()})
		return mapMetaErr(err)
	}
	h.freeBlobs(req.r.Context(), freed)
	return writeXML(req.w, http.StatusOK, copyPartResult{Xmlns: s3Namespace, LastModified: xmlTime(p.LastModified), ETag: `"` + p.Segment.PartETag + `"`})
}

// maxCompleteXML bounds CompleteMultipartUpload bodies: 10,000 parts with checksums.
const maxCompleteXML = 4 << 20

func (h *Handler) completeMultipartUpload(req *request, b *meta.Bucket) error {
	r := req.r
	u, err := h.upload(req, b)
	if err != nil {
		return err
	}
	cond, err := writeConditions(r.Header)
	if err != nil {
		return err
	}
	var c completeMultipartUpload
	if err := readXML(req, maxCompleteXML, &c); err != nil {
		return err
	}
	if len(c.Parts) == 0 {
		return s3err.New(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	if len(c.Parts) > MaxPartNumber {
		return s3err.MalformedXML()
	}
	stored := map[int]meta.Part{}
	marker := 0
	for {
		parts, more, err := h.deps.Meta.ListParts(r.Context(), b.Name, req.key, u.ID, marker, 1000)
		if err != nil {
			return mapMetaErr(err)
		}
		for _, p := range parts {
			stored[p.Number] = p
			marker = p.Number
		}
		if !more || len(parts) == 0 {
			break
		}
	}
	o := u.Template
	o.Bucket, o.Key = b.Name, req.key
	md5s := md5.New()
	var crcParts []checksum.Part
	var compParts [][]byte
	prev := 0
	for i, cp := range c.Parts {
		if cp.PartNumber <= prev {
			return s3err.InvalidPartOrder()
		}
		prev = cp.PartNumber
		p, ok := stored[cp.PartNumber]
		if !ok || strings.Trim(cp.ETag, `" `) != p.Segment.PartETag {
			return s3err.InvalidPart()
		}
		if i < len(c.Parts)-1 && p.Segment.Size < MinPartSize {
			e := s3err.EntityTooSmall()
			e.Extra = append(e.Extra, kv("ProposedSize", itoa(p.Segment.Size)), kv("MinSizeAllowed", itoa(MinPartSize)), kv("PartNumber", itoa(int64(cp.PartNumber))), kv("ETag", p.Segment.PartETag))
			return e
		}
		if alg := u.ChecksumAlgorithm; alg != "" {
			given := map[string]string{"CRC32": cp.ChecksumCRC32, "CRC32C": cp.ChecksumCRC32C, "CRC64NVME": cp.ChecksumCRC64NVME, "SHA1": cp.ChecksumSHA1, "SHA256": cp.ChecksumSHA256}[alg]
			have := p.Segment.Checksums[alg]
			if given != "" && given != have {
				return s3err.InvalidPart()
			}
			raw, err := checksum.Decode(alg, have)
			if err != nil {
				return s3err.InvalidPart()
			}
			crcParts = append(crcParts, checksum.Part{Checksum: raw, Size: p.Segment.Size})
			compParts = append(compParts, raw)
		}
		raw, _ := hex.DecodeString(p.Segment.PartETag)
		md5s.Write(raw)
		o.Segments = append(o.Segments, p.Segment)
		o.Size += p.Segment.Size
	}
	o.PartsCount = len(c.Parts)
	o.ETag = hex.EncodeToString(md5s.Sum(nil)) + "-" + strconv.Itoa(len(c.Parts))
	o.LastModified = h.now().UTC()
	if alg := u.ChecksumAlgorithm; alg != "" {
		o.ChecksumType = u.ChecksumType
		if u.ChecksumType == "FULL_OBJECT" {
			sum, err := checksum.FullObject(alg, crcParts)
			if err != nil {
				return s3err.InvalidRequest(err.Error())
			}
			o.Checksums = map[string]string{alg: checksum.Encode(sum)}
		} else {
			o.Checksums = map[string]string{alg: checksum.Composite(alg, compParts)}
		}
	}
	freed, err := h.deps.Meta.CompleteUpload(r.Context(), b.Name, req.key, u.ID, o, cond)
	if err != nil {
		return mapMetaErr(err)
	}
	h.freeBlobs(req.r.Context(), freed)
	res := completeMultipartUploadResult{
		Xmlns: s3Namespace, Location: "/" + b.Name + "/" + req.key, Bucket: b.Name, Key: req.key,
		ETag: `"` + o.ETag + `"`, ChecksumType: o.ChecksumType,
	}
	res.ChecksumCRC32, res.ChecksumCRC32C, res.ChecksumCRC64NVME, res.ChecksumSHA1, res.ChecksumSHA256 = checksumFields(o.Checksums)
	return writeXML(req.w, http.StatusOK, res)
}

func (h *Handler) abortMultipartUpload(req *request, b *meta.Bucket) error {
	freed, err := h.deps.Meta.AbortUpload(req.r.Context(), b.Name, req.key, req.query().Get("uploadId"))
	if err != nil {
		return mapMetaErr(err)
	}
	h.freeBlobs(req.r.Context(), freed)
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listParts(req *request, b *meta.Bucket) error {
	q := req.query()
	u, err := h.upload(req, b)
	if err != nil {
		return err
	}
	maxParts, err := parseMaxKeys(q, "max-parts", 1000)
	if err != nil {
		return err
	}
	marker := 0
	if v := q.Get("part-number-marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			return s3err.InvalidArgument("Provided part-number-marker not an integer or within integer range")
		}
	}
	parts, more, err := h.deps.Meta.ListParts(req.r.Context(), b.Name, req.key, u.ID, marker, maxParts)
	if err != nil {
		return mapMetaErr(err)
	}
	ow := h.ownerOf(u.Owner)
	res := listPartsResult{
		Xmlns: s3Namespace, Bucket: b.Name, Key: req.key, UploadID: u.ID, Initiator: ow, Owner: ow,
		StorageClass: "STANDARD", PartNumberMarker: marker, MaxParts: maxParts, IsTruncated: more,
		ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType, Parts: []partInfo{},
	}
	for _, p := range parts {
		pi := partInfo{PartNumber: p.Number, LastModified: xmlTime(p.LastModified), ETag: `"` + p.Segment.PartETag + `"`, Size: p.Segment.Size}
		pi.ChecksumCRC32, pi.ChecksumCRC32C, pi.ChecksumCRC64NVME, pi.ChecksumSHA1, pi.ChecksumSHA256 = checksumFields(p.Segment.Checksums)
		res.Parts = append(res.Parts, pi)
		res.NextPartNumberMarker = p.Number
	}
	return writeXML(req.w, http.StatusOK, res)
}

func (h *Handler) listMultipartUploads(req *request, b *meta.Bucket) error {
	q := req.query()
	maxUploads, err := parseMaxKeys(q, "max-uploads", 1000)
	if err != nil {
		return err
	}
	enc, err := encodingType(q)
	if err != nil {
		return err
	}
	opt := meta.ListUploadsOptions{
		Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), UploadIDMarker: q.Get("upload-id-marker"), MaxUploads: maxUploads,
	}
	page, err := h.deps.Meta.ListUploads(req.r.Context(), b.Name, opt)
	if err != nil {
		if errors.Is(err, meta.ErrNoSuchBucket) {
			return s3err.NoSuchBucket()
		}
		return err
	}
	res := listMultipartUploadsResult{
		Xmlns: s3Namespace, Bucket: b.Name, KeyMarker: maybeEncode(opt.KeyMarker, enc), UploadIDMarker: opt.UploadIDMarker,
		NextKeyMarker: maybeEncode(page.NextKeyMarker, enc), NextUploadIDMarker: page.NextUploadIDMarker,
		Delimiter: maybeEncode(opt.Delimiter, enc), Prefix: maybeEncode(opt.Prefix, enc), EncodingType: enc,
		MaxUploads: maxUploads, IsTruncated: page.IsTruncated, CommonPrefixes: prefixes(page.CommonPrefixes, enc),
	}
	for _, u := range page.Uploads {
		ow := h.ownerOf(u.Owner)
		res.Uploads = append(res.Uploads, uploadInfo{Key: maybeEncode(u.Key, enc), UploadID: u.ID, Initiator: ow, Owner: ow, StorageClass: "STANDARD", Initiated: xmlTime(u.Initiated), ChecksumAlgorithm: u.ChecksumAlgorithm})
	}
	return writeXML(req.w, http.StatusOK, res)
}
