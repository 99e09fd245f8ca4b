package clients

import (
	"github.com/postern/postern/internal/s3test"

	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const mib = 1 << 20

func uploadPart(t *testing.T, c *s3.Client, b, k, id string, n int32, body []byte) string {
	t.Helper()
	out, err := c.UploadPart(s3test.Ctx(t), &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(k), UploadId: aws.String(id), PartNumber: aws.Int32(n), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("UploadPart %d: %v", n, err)
	}
	if got, want := aws.ToString(out.ETag), s3test.Quoted(s3test.MD5Hex(body)); got != want {
		t.Errorf("UploadPart %d ETag = %s, want %s", n, got, want)
	}
	return aws.ToString(out.ETag)
}

func createUpload(t *testing.T, c *s3.Client, b, k string) string {
	t.Helper()
	out, err := c.CreateMultipartUpload(s3test.Ctx(t), &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(k)})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	if aws.ToString(out.UploadId) == "" || aws.ToString(out.Bucket) != b || aws.ToString(out.Key) != k {
		t.Fatalf("CreateMultipartUpload = UploadId %q Bucket %q Key %q", aws.ToString(out.UploadId), aws.ToString(out.Bucket), aws.ToString(out.Key))
	}
	return aws.ToString(out.UploadId)
}

func completed(etags ...any) *types.CompletedMultipartUpload {
	var parts []types.CompletedPart
	for i := 0; i < len(etags); i += 2 {
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(etags[i].(int))), ETag: aws.String(etags[i+1].(string))})
	}
	return &types.CompletedMultipartUpload{Parts: parts}
}

func testMultipart(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "mp")
	src := s3test.RandBytes(51, 6*mib)
	s3test.Put(t, c, b, "src", src)
	const k = "big/mp object"
	cmu, err := c.CreateMultipartUpload(s3test.Ctx(t), &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(k),
		ContentType: aws.String("application/x-mp"), Metadata: map[string]string{"stage": "mp"}})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	id := aws.ToString(cmu.UploadId)
	if id == "" {
		t.Fatal("no UploadId")
	}

	p1 := s3test.RandBytes(52, 5*mib)
	e1 := uploadPart(t, c, b, k, id, 1, p1)
	p2 := src[1*mib : 6*mib]
	upc, err := c.UploadPartCopy(s3test.Ctx(t), &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String(k), UploadId: aws.String(id), PartNumber: aws.Int32(2),
		CopySource: aws.String(b + "/src"), CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", 1*mib, 6*mib-1))})
	if err != nil {
		t.Fatalf("UploadPartCopy: %v", err)
	}
	if upc.CopyPartResult == nil || aws.ToString(upc.CopyPartResult.ETag) != s3test.Quoted(s3test.MD5Hex(p2)) || upc.CopyPartResult.LastModified == nil {
		t.Fatalf("UploadPartCopy result %+v, want ETag %s", upc.CopyPartResult, s3test.Quoted(s3test.MD5Hex(p2)))
	}
	e2 := aws.ToString(upc.CopyPartResult.ETag)
	p3 := s3test.RandBytes(53, 1000)
	e3 := uploadPart(t, c, b, k, id, 3, p3)

	lp, err := c.ListParts(s3test.Ctx(t), &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String(k), UploadId: aws.String(id)})
	if err != nil {
		t.Fatalf("ListParts: %v", err)
	}
	wantParts := []struct {
		n    int32
		etag string
		size int
	}{{1, e1, len(p1)}, {2, e2, len(p2)}, {3, e3, len(p3)}}
	if len(lp.Parts) != 3 {
		t.Fatalf("ListParts lists %d parts, want 3", len(lp.Parts))
	}
	for i, w := range wantParts {
		p := lp.Parts[i]
		if aws.ToInt32(p.PartNumber) != w.n || aws.ToString(p.ETag) != w.etag || aws.ToInt64(p.Size) != int64(w.size) || p.LastModified == nil {
			t.Errorf("ListParts[%d] = #%d %s %d bytes, want #%d %s %d", i, aws.ToInt32(p.PartNumber), aws.ToString(p.ETag), aws.ToInt64(p.Size), w.n, w.etag, w.size)
		}
	}
	if aws.ToBool(lp.IsTruncated) || aws.ToString(lp.UploadId) != id || aws.ToString(lp.Key) != k {
		t.Errorf("ListParts IsTruncated=%v UploadId=%q Key=%q", aws.ToBool(lp.IsTruncated), aws.ToString(lp.UploadId), aws.ToString(lp.Key))
	}
	lp, err = c.ListParts(s3test.Ctx(t), &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String(k), UploadId: aws.String(id), MaxParts: aws.Int32(2)})
	if err != nil {
		t.Fatalf("ListParts max-parts 2: %v", err)
	}
	if len(lp.Parts) != 2 || !aws.ToBool(lp.IsTruncated) || aws.ToString(lp.NextPartNumberMarker) != "2" {
		t.Errorf("ListParts max-parts=2: %d parts IsTruncated=%v NextPartNumberMarker=%q, want 2 true \"2\"", len(lp.Parts), aws.ToBool(lp.IsTruncated), aws.ToString(lp.NextPartNumberMarker))
	}
	lp, err = c.ListParts(s3test.Ctx(t), &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String(k), UploadId: aws.String(id), PartNumberMarker: aws.String("2")})
	if err != nil {
		t.Fatalf("ListParts part-number-marker 2: %v", err)
	}
	if len(lp.Parts) != 1 || aws.ToInt32(lp.Parts[0].PartNumber) != 3 {
		t.Errorf("ListParts after part 2 lists %d parts, want only #3", len(lp.Parts))
	}

	lmu, err := c.ListMultipartUploads(s3test.Ctx(t), &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	if len(lmu.Uploads) != 1 || aws.ToString(lmu.Uploads[0].Key) != k || aws.ToString(lmu.Uploads[0].UploadId) != id || lmu.Uploads[0].Initiated == nil {
		t.Errorf("ListMultipartUploads = %+v, want the one upload %s %s", lmu.Uploads, k, id)
	}
	lmu, err = c.ListMultipartUploads(s3test.Ctx(t), &s3.ListMultipartUploadsInput{Bucket: aws.String(b), Prefix: aws.String("other/")})
	if err != nil {
		t.Fatalf("ListMultipartUploads prefix: %v", err)
	}
	if len(lmu.Uploads) != 0 {
		t.Errorf("ListMultipartUploads prefix other/ lists %d uploads", len(lmu.Uploads))
	}

	complete := func(parts *types.CompletedMultipartUpload) (*s3.CompleteMultipartUploadOutput, error) {
		return c.CompleteMultipartUpload(s3test.Ctx(t), &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(k), UploadId: aws.String(id), MultipartUpload: parts})
	}
	_, err = complete(completed(1, e1, 2, `"0123456789abcdef0123456789abcdef"`, 3, e3))
	t.Run("WrongETag", func(t *testing.T) { s3test.WantAPIError(t, err, 400, "InvalidPart") })
	_, err = complete(completed(1, e1, 2, e2, 4, e3))
	t.Run("MissingPart", func(t *testing.T) { s3test.WantAPIError(t, err, 400, "InvalidPart") })
	_, err = complete(completed(2, e2, 1, e1, 3, e3))
	t.Run("OutOfOrder", func(t *testing.T) { s3test.WantAPIError(t, err, 400, "InvalidPartOrder") })

	cmo, err := complete(completed(1, e1, 2, e2, 3, e3))
	if err != nil {
		t.Fatalf("CompleteMultipartUpload: %v", err)
	}
	wantETag := s3test.MultipartETag(p1, p2, p3)
	if got := aws.ToString(cmo.ETag); got != wantETag || !strings.HasSuffix(got, `-3"`) {
		t.Errorf("CompleteMultipartUpload ETag = %s, want %s", got, wantETag)
	}
	if aws.ToString(cmo.Bucket) != b || aws.ToString(cmo.Key) != k {
		t.Errorf("CompleteMultipartUpload Bucket=%q Key=%q", aws.ToString(cmo.Bucket), aws.ToString(cmo.Key))
	}
	whole := bytes.Join([][]byte{p1, p2, p3}, nil)
	s3test.EqualBytes(t, "completed object", getBytes(t, c, b, k), whole)
	h, err := c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(h.ETag) != wantETag || aws.ToInt64(h.ContentLength) != int64(len(whole)) || aws.ToString(h.ContentType) != "application/x-mp" || h.Metadata["stage"] != "mp" {
		t.Errorf("HeadObject of multipart object: ETag %s len %d type %q meta %v", aws.ToString(h.ETag), aws.ToInt64(h.ContentLength), aws.ToString(h.ContentType), h.Metadata)
	}

	offset := 0
	for i, p := range [][]byte{p1, p2, p3} {
		n := int32(i + 1)
		g, err := c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k), PartNumber: aws.Int32(n)})
		if err != nil {
			t.Fatalf("GetObject partNumber=%d: %v", n, err)
		}
		got, _ := io.ReadAll(g.Body)
		g.Body.Close()
		s3test.EqualBytes(t, fmt.Sprintf("GetObject partNumber=%d", n), got, p)
		if st := rawResp(t, g.ResultMetadata).StatusCode; st != 206 {
			t.Errorf("GetObject partNumber=%d status %d, want 206", n, st)
		}
		if aws.ToInt32(g.PartsCount) != 3 {
			t.Errorf("GetObject partNumber=%d x-amz-mp-parts-count = %d, want 3", n, aws.ToInt32(g.PartsCount))
		}
		wantCR := fmt.Sprintf("bytes %d-%d/%d", offset, offset+len(p)-1, len(whole))
		if aws.ToString(g.ContentRange) != wantCR || aws.ToInt64(g.ContentLength) != int64(len(p)) {
			t.Errorf("GetObject partNumber=%d Content-Range %q Content-Length %d, want %q %d", n, aws.ToString(g.ContentRange), aws.ToInt64(g.ContentLength), wantCR, len(p))
		}
		offset += len(p)
	}
	hp, err := c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(k), PartNumber: aws.Int32(2)})
	if err != nil {
		t.Fatalf("HeadObject partNumber=2: %v", err)
	}
	if aws.ToInt32(hp.PartsCount) != 3 || aws.ToInt64(hp.ContentLength) != int64(len(p2)) {
		t.Errorf("HeadObject partNumber=2: parts-count %d length %d", aws.ToInt32(hp.PartsCount), aws.ToInt64(hp.ContentLength))
	}
	_, err = c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k), PartNumber: aws.Int32(4)})
	t.Run("PartNumberTooHigh", func(t *testing.T) { s3test.WantAPIError(t, err, 416, "InvalidPartNumber") })

	lmu, err = c.ListMultipartUploads(s3test.Ctx(t), &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lmu.Uploads) != 0 {
		t.Errorf("completed upload still listed: %+v", lmu.Uploads)
	}
	_, err = c.ListParts(s3test.Ctx(t), &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String(k), UploadId: aws.String(id)})
	s3test.WantAPIError(t, err, 404, "NoSuchUpload")
}

func testMultipartErrors(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "mperr")
	id := createUpload(t, c, b, "small")
	e1 := uploadPart(t, c, b, "small", id, 1, []byte(strings.Repeat("1", 100)))
	e2 := uploadPart(t, c, b, "small", id, 2, []byte(strings.Repeat("2", 100)))
	_, err := c.CompleteMultipartUpload(s3test.Ctx(t), &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("small"), UploadId: aws.String(id), MultipartUpload: completed(1, e1, 2, e2)})
	t.Run("EntityTooSmall", func(t *testing.T) { s3test.WantAPIError(t, err, 400, "EntityTooSmall") })
	// A single small part is fine: only non-last parts have a minimum.
	out, err := c.CompleteMultipartUpload(s3test.Ctx(t), &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("small"), UploadId: aws.String(id), MultipartUpload: completed(2, e2)})
	if err != nil {
		t.Fatalf("CompleteMultipartUpload with one small part: %v", err)
	}
	if got, want := aws.ToString(out.ETag), s3test.MultipartETag([]byte(strings.Repeat("2", 100))); got != want {
		t.Errorf("one-part ETag = %s, want %s", got, want)
	}
	s3test.EqualBytes(t, "one-part object", getBytes(t, c, b, "small"), []byte(strings.Repeat("2", 100)))

	id = createUpload(t, c, b, "bad")
	for _, n := range []int32{0, 10001} {
		_, err = c.UploadPart(s3test.Ctx(t), &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("bad"), UploadId: aws.String(id), PartNumber: aws.Int32(n), Body: strings.NewReader("x")})
		t.Run(fmt.Sprintf("PartNumber%d", n), func(t *testing.T) { s3test.WantAPIError(t, err, 400, "InvalidArgument") })
	}
	_, err = c.UploadPart(s3test.Ctx(t), &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("bad"), UploadId: aws.String("no-such-upload-id"), PartNumber: aws.Int32(1), Body: strings.NewReader("x")})
	t.Run("UnknownUploadId", func(t *testing.T) { s3test.WantAPIError(t, err, 404, "NoSuchUpload") })
	_, err = c.CompleteMultipartUpload(s3test.Ctx(t), &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("bad"), UploadId: aws.String(id), MultipartUpload: &types.CompletedMultipartUpload{}})
	t.Run("NoParts", func(t *testing.T) { s3test.WantAPIError(t, err, 400, "MalformedXML") })
}

func testMultipartAbort(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "mpabort")
	id := createUpload(t, c, b, "gone")
	uploadPart(t, c, b, "gone", id, 1, s3test.RandBytes(71, 1000))
	ab, err := c.AbortMultipartUpload(s3test.Ctx(t), &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("gone"), UploadId: aws.String(id)})
	if err != nil {
		t.Fatalf("AbortMultipartUpload: %v", err)
	}
	if st := rawResp(t, ab.ResultMetadata).StatusCode; st != 204 {
		t.Errorf("AbortMultipartUpload status %d, want 204", st)
	}
	_, err = c.ListParts(s3test.Ctx(t), &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("gone"), UploadId: aws.String(id)})
	t.Run("ListParts", func(t *testing.T) { s3test.WantAPIError(t, err, 404, "NoSuchUpload") })
	_, err = c.UploadPart(s3test.Ctx(t), &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String("gone"), UploadId: aws.String(id), PartNumber: aws.Int32(2), Body: strings.NewReader("x")})
	t.Run("UploadPart", func(t *testing.T) { s3test.WantAPIError(t, err, 404, "NoSuchUpload") })
	_, err = c.CompleteMultipartUpload(s3test.Ctx(t), &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("gone"), UploadId: aws.String(id), MultipartUpload: completed(1, s3test.Quoted(s3test.MD5Hex(s3test.RandBytes(71, 1000))))})
	t.Run("Complete", func(t *testing.T) { s3test.WantAPIError(t, err, 404, "NoSuchUpload") })
	_, err = c.AbortMultipartUpload(s3test.Ctx(t), &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("gone"), UploadId: aws.String(id)})
	t.Run("AbortAgain", func(t *testing.T) { s3test.WantAPIError(t, err, 404, "NoSuchUpload") })
	_, err = c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("gone")})
	s3test.WantAPIError(t, err, 404, "NotFound")
	lmu, err := c.ListMultipartUploads(s3test.Ctx(t), &s3.ListMultipartUploadsInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lmu.Uploads) != 0 {
		t.Errorf("aborted upload still listed: %+v", lmu.Uploads)
	}
}

// testUploadManager sends a ~40 MiB object through feature/s3/manager's
// Uploader (multipart, CRC32 checksums) and reads it back with its
// Downloader (parallel ranged GETs).
func testUploadManager(t *testing.T, e *sdkEnv) {
	if testing.Short() {
		t.Skip("-short: skips the 40 MiB object")
	}
	c := e.c
	b := s3test.NewBucket(t, c, "mgr")
	const partSize = 8 * mib
	data := s3test.RandBytes(61, 40*mib+12345)
	var parts [][]byte
	for off := 0; off < len(data); off += partSize {
		parts = append(parts, data[off:min(off+partSize, len(data))])
	}
	up := manager.NewUploader(c, func(u *manager.Uploader) { u.PartSize = partSize; u.Concurrency = 3 })
	// A non-seekable reader, as when piping: the uploader buffers each part.
	out, err := up.Upload(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("big.bin"),
		Body: struct{ io.Reader }{bytes.NewReader(data)}, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatalf("Uploader.Upload: %v", err)
	}
	if got, want := aws.ToString(out.ETag), s3test.MultipartETag(parts...); got != want {
		t.Errorf("upload ETag = %s, want %s", got, want)
	}
	if out.UploadID == "" {
		t.Error("the uploader did not use multipart")
	}
	wantSum := compositeCRC32(parts...)
	if got := aws.ToString(out.ChecksumCRC32); got != wantSum {
		t.Errorf("CompleteMultipartUpload x-amz-checksum-crc32 = %q, want composite %q", got, wantSum)
	}

	h, err := c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("big.bin"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(h.ChecksumCRC32); got != wantSum || h.ChecksumType != types.ChecksumTypeComposite {
		t.Errorf("HeadObject checksum %q type %q, want %q COMPOSITE", got, h.ChecksumType, wantSum)
	}
	if aws.ToInt64(h.ContentLength) != int64(len(data)) {
		t.Errorf("HeadObject Content-Length %d, want %d", aws.ToInt64(h.ContentLength), len(data))
	}

	dl := manager.NewDownloader(c, func(d *manager.Downloader) { d.PartSize = 7 * mib; d.Concurrency = 3 })
	buf := manager.NewWriteAtBuffer(make([]byte, 0, len(data)))
	n, err := dl.Download(s3test.Ctx(t), buf, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("big.bin")})
	if err != nil {
		t.Fatalf("Downloader.Download: %v", err)
	}
	if n != int64(len(data)) {
		t.Errorf("downloaded %d bytes, want %d", n, len(data))
	}
	s3test.EqualBytes(t, "downloaded object", buf.Bytes(), data)

	// A small upload goes through a single PutObject.
	small := s3test.RandBytes(62, 1*mib)
	out, err = up.Upload(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("small.bin"), Body: bytes.NewReader(small), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	if err != nil {
		t.Fatalf("Uploader.Upload small: %v", err)
	}
	if aws.ToString(out.ETag) != s3test.Quoted(s3test.MD5Hex(small)) || aws.ToString(out.ChecksumCRC32) != checksumOf("CRC32", small) {
		t.Errorf("small upload ETag %s CRC32 %s, want %s %s", aws.ToString(out.ETag), aws.ToString(out.ChecksumCRC32), s3test.Quoted(s3test.MD5Hex(small)), checksumOf("CRC32", small))
	}
	s3test.EqualBytes(t, "small object", getBytes(t, c, b, "small.bin"), small)
}

// testBigListing puts 2,500 keys and pages through them with the SDK's
// paginator: every key exactly once, in order.
func testBigListing(t *testing.T, e *sdkEnv) {
	if testing.Short() {
		t.Skip("-short: skips the 2,500-key listing")
	}
	c := e.c
	b := s3test.NewBucket(t, c, "many")
	const n = 2500
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("d%d/k%05d", i%3, i)
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range work {
				if _, err := c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
					t.Errorf("PutObject %s: %v", k, err)
				}
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	want := sorted(keys)
	for _, maxKeys := range []int32{0, 700} {
		t.Run(fmt.Sprintf("MaxKeys%d", maxKeys), func(t *testing.T) {
			in := &s3.ListObjectsV2Input{Bucket: aws.String(b)}
			perPage := 1000
			if maxKeys > 0 {
				in.MaxKeys = aws.Int32(maxKeys)
				perPage = int(maxKeys)
			}
			p := s3.NewListObjectsV2Paginator(c, in)
			var got []string
			pages := 0
			for p.HasMorePages() {
				page, err := p.NextPage(s3test.Ctx(t))
				if err != nil {
					t.Fatalf("page %d: %v", pages, err)
				}
				pages++
				if pages > 20 {
					t.Fatal("paging does not end")
				}
				if len(page.Contents) > perPage {
					t.Errorf("page %d has %d keys, more than %d", pages, len(page.Contents), perPage)
				}
				got = append(got, keysOf(page.Contents)...)
			}
			if wantPages := (n + perPage - 1) / perPage; pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
			seen := map[string]int{}
			for _, k := range got {
				seen[k]++
			}
			for k, c := range seen {
				if c != 1 {
					t.Errorf("key %s listed %d times", k, c)
				}
			}
			if len(got) != n {
				t.Fatalf("listed %d keys, want %d", len(got), n)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("key #%d is %s, want %s", i, got[i], want[i])
				}
			}
		})
	}
	// A delimiter over many keys rolls them up into three prefixes.
	out, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	eqList(t, "prefixes of 2,500 keys", prefixesOf(out.CommonPrefixes), []string{"d0/", "d1/", "d2/"})
	if len(out.Contents) != 0 || aws.ToBool(out.IsTruncated) {
		t.Errorf("delimited listing: %d keys, truncated %v", len(out.Contents), aws.ToBool(out.IsTruncated))
	}
}
