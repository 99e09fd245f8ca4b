package s3api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/postern/postern/proto/s3err"
)

func TestValidBucketName(t *testing.T) {
	good := []string{"abc", "my-bucket", "my.bucket.name", "a1b2c3", "123", "a-b"}
	bad := []string{"", "ab", "ABC", "my_bucket", "-abc", "abc-", ".abc", "abc.", "a..b", "192.168.1.1",
		"xn--abc", "sthree-x", "abc-s3alias", "abc--ol-s3", "a b", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd"}
	for _, n := range good {
		if !validBucketName(n) {
			t.Errorf("validBucketName(%q) = false, want true", n)
		}
	}
	for _, n := range bad {
		if validBucketName(n) {
			t.Errorf("validBucketName(%q) = true, want false", n)
		}
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		h          string
		size       int64
		start, end int64
		ok         bool
		err        bool
	}{
		{"bytes=0-9", 100, 0, 9, true, false},
		{"bytes=10-", 100, 10, 99, true, false},
		{"bytes=-10", 100, 90, 99, true, false},
		{"bytes=-1000", 100, 0, 99, true, false},
		{"bytes=90-1000", 100, 90, 99, true, false},
		{"bytes=100-", 100, 0, 0, false, true},
		{"bytes=100-200", 100, 0, 0, false, true},
		{"bytes=-0", 100, 0, 0, false, true},
		{"bytes=5-2", 100, 0, 0, false, false},
		{"bytes=0-1,5-6", 100, 0, 0, false, false},
		{"items=0-1", 100, 0, 0, false, false},
		{"bytes=a-b", 100, 0, 0, false, false},
		{"bytes=0-0", 0, 0, 0, false, true},
	}
	for _, tt := range tests {
		br, ok, err := parseRange(tt.h, tt.size)
		if (err != nil) != tt.err || ok != tt.ok || (ok && (br.start != tt.start || br.end != tt.end)) {
			t.Errorf("parseRange(%q, %d) = %+v, %v, %v; want %d-%d ok=%v err=%v", tt.h, tt.size, br, ok, err, tt.start, tt.end, tt.ok, tt.err)
		}
	}
}

func TestCheckReadConditions(t *testing.T) {
	lm := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	before := lm.Add(-time.Hour).Format(http.TimeFormat)
	after := lm.Add(time.Hour).Format(http.TimeFormat)
	same := lm.Format(http.TimeFormat)
	tests := []struct {
		name   string
		hdr    map[string]string
		status int // 0 = serve
	}{
		{"none", nil, 0},
		{"if-match ok", map[string]string{"If-Match": `"abc"`}, 0},
		{"if-match star", map[string]string{"If-Match": `*`}, 0},
		{"if-match fail", map[string]string{"If-Match": `"zzz"`}, 412},
		{"if-none-match hit", map[string]string{"If-None-Match": `"abc"`}, 304},
		{"if-none-match miss", map[string]string{"If-None-Match": `"zzz"`}, 0},
		{"if-modified-since older", map[string]string{"If-Modified-Since": before}, 0},
		{"if-modified-since same", map[string]string{"If-Modified-Since": same}, 304},
		{"if-modified-since newer", map[string]string{"If-Modified-Since": after}, 304},
		{"if-unmodified-since before", map[string]string{"If-Unmodified-Since": before}, 412},
		{"if-unmodified-since after", map[string]string{"If-Unmodified-Since": after}, 0},
		// If-Match that holds wins over a failing If-Unmodified-Since.
		{"match beats unmodified", map[string]string{"If-Match": `"abc"`, "If-Unmodified-Since": before}, 0},
		// If-None-Match that fails wins over If-Modified-Since (RFC 9110 13.2.2).
		{"none-match beats modified", map[string]string{"If-None-Match": `"zzz"`, "If-Modified-Since": after}, 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		for k, v := range tt.hdr {
			h.Set(k, v)
		}
		err := checkReadConditions(h, "abc", lm, "")
		got := 0
		if e, ok := err.(*s3err.Error); ok {
			got = e.Status
		}
		if got != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.status)
		}
	}
	// Copy-source conditions fail with 412 where a GET would say 304.
	h := http.Header{"X-Amz-Copy-Source-If-None-Match": {`"abc"`}}
	if e, ok := checkReadConditions(h, "abc", lm, "x-amz-copy-source-").(*s3err.Error); !ok || e.Status != 412 {
		t.Errorf("copy-source If-None-Match: got %v, want 412", e)
	}
}

func TestOperationName(t *testing.T) {
	tests := []struct {
		method, target string
		hdr            map[string]string
		want           string
	}{
		{"GET", "/", nil, "ListBuckets"},
		{"PUT", "/b", nil, "CreateBucket"},
		{"GET", "/b", nil, "ListObjects"},
		{"GET", "/b?list-type=2", nil, "ListObjectsV2"},
		{"GET", "/b?location", nil, "GetBucketLocation"},
		{"GET", "/b?uploads", nil, "ListMultipartUploads"},
		{"POST", "/b?delete", nil, "DeleteObjects"},
		{"HEAD", "/b", nil, "HeadBucket"},
		{"DELETE", "/b", nil, "DeleteBucket"},
		{"PUT", "/b/k", nil, "PutObject"},
		{"PUT", "/b/k", map[string]string{"x-amz-copy-source": "/a/b"}, "CopyObject"},
		{"PUT", "/b/k?partNumber=1&uploadId=x", nil, "UploadPart"},
		{"PUT", "/b/k?partNumber=1&uploadId=x", map[string]string{"x-amz-copy-source": "/a/b"}, "UploadPartCopy"},
		{"POST", "/b/k?uploads", nil, "CreateMultipartUpload"},
		{"POST", "/b/k?uploadId=x", nil, "CompleteMultipartUpload"},
		{"DELETE", "/b/k?uploadId=x", nil, "AbortMultipartUpload"},
		{"GET", "/b/k?uploadId=x", nil, "ListParts"},
		{"GET", "/b/k", nil, "GetObject"},
		{"HEAD", "/b/k", nil, "HeadObject"},
		{"DELETE", "/b/k", nil, "DeleteObject"},
		{"GET", "/b/k?tagging", nil, "GetObjectTagging"},
		{"PUT", "/b?policy", nil, "PutBucketPolicy"},
	}
	h := New(Deps{Region: "us-east-1"}, Options{})
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		for k, v := range tt.hdr {
			r.Header.Set(k, v)
		}
		req := &request{r: r}
		if err := h.route(req); err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.target, err)
		}
		if req.op != tt.want {
			t.Errorf("%s %s = %s, want %s", tt.method, tt.target, req.op, tt.want)
		}
	}
}

func TestRouteVirtualHost(t *testing.T) {
	h := New(Deps{Region: "us-east-1"}, Options{Domain: "s3.example.com"})
	for _, tt := range []struct{ host, path, bucket, key string }{
		{"photos.s3.example.com", "/a/b.jpg", "photos", "a/b.jpg"},
		{"photos.s3.example.com:9000", "/", "photos", ""},
		{"s3.example.com", "/photos/x", "photos", "x"},
		{"127.0.0.1:9000", "/photos/a//b", "photos", "a//b"},
		{"127.0.0.1:9000", "/photos/../x", "photos", "../x"},
	} {
		r := httptest.NewRequest("GET", tt.path, nil)
		r.Host = tt.host
		req := &request{r: r}
		if err := h.route(req); err != nil {
			t.Fatal(err)
		}
		if req.bucket != tt.bucket || req.key != tt.key {
			t.Errorf("%s%s → %q %q, want %q %q", tt.host, tt.path, req.bucket, req.key, tt.bucket, tt.key)
		}
	}
}

func TestContinuationToken(t *testing.T) {
	for _, k := range []string{"", "a", "a/b/", "ключ 日本", "x\x00y"} {
		got, ok := decodeToken(encodeToken(k))
		if !ok || got != k {
			t.Errorf("token round trip %q → %q, %v", k, got, ok)
		}
	}
	for _, bad := range []string{"!!", "djE", "Zm9v"} {
		if _, ok := decodeToken(bad); ok {
			t.Errorf("decodeToken(%q) accepted", bad)
		}
	}
}

func TestS3URLEncode(t *testing.T) {
	for in, want := range map[string]string{"a b/c+d": "a+b/c%2Bd", "ключ": "%D0%BA%D0%BB%D1%8E%D1%87", "x&y=z": "x%26y%3Dz"} {
		if got := s3URLEncode(in); got != want {
			t.Errorf("s3URLEncode(%q) = %q, want %q", in, got, want)
		}
	}
}
