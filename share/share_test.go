package share

import (
	"strings"
	"testing"
	"time"
)

func TestIsShareKey(t *testing.T) {
	for key, want := range map[string]bool{
		"PSHRABCDEFGHIJKLMNOP":  true,
		"PSHRABCDEFGHIJKLMNO":   false, // 19
		"PSHRABCDEFGHIJKLMNOPQ": false, // 21
		"AKIAABCDEFGHIJKLMNOP":  false,
		"ASIAABCDEFGHIJKLMNOP":  false,
		"":                      false,
	} {
		if got := IsShareKey(key); got != want {
			t.Errorf("IsShareKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestState(t *testing.T) {
	now := time.Unix(1700000000, 0).UTC()
	base := Share{CreatedAt: now.Add(-time.Hour), Expires: now.Add(time.Hour), MaxUses: 2, Uses: 1}
	for _, c := range []struct {
		name string
		edit func(*Share)
		at   time.Time
		want string
	}{
		{"active", func(*Share) {}, now, StateActive},
		{"unlimited", func(s *Share) { s.MaxUses, s.Uses = 0, 1000 }, now, StateActive},
		{"used up", func(s *Share) { s.Uses = 2 }, now, StateUsedUp},
		{"over used", func(s *Share) { s.Uses = 3 }, now, StateUsedUp},
		{"expired at Expires", func(*Share) {}, now.Add(time.Hour), StateExpired},
		{"live just before", func(*Share) {}, now.Add(time.Hour - time.Nanosecond), StateActive},
		{"expired wins over used up", func(s *Share) { s.Uses = 2 }, now.Add(2 * time.Hour), StateExpired},
		{"revoked", func(s *Share) { s.RevokedAt = now }, now, StateRevoked},
		{"revoked wins over expired and used up", func(s *Share) { s.RevokedAt, s.Uses = now, 2 }, now.Add(2 * time.Hour), StateRevoked},
	} {
		s := base
		c.edit(&s)
		if got := s.State(c.at); got != c.want {
			t.Errorf("%s: State = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestResourceAction(t *testing.T) {
	get := Share{Method: MethodGet, Bucket: "photos", Key: "2026/cat.jpg"}
	put := Share{Method: MethodPut, Bucket: "photos", Key: "in/a.txt"}
	post := Share{Method: MethodPost, Bucket: "photos", Key: "drop/"}
	for _, c := range []struct {
		s           Share
		res, action string
	}{
		{get, "arn:aws:s3:::photos/2026/cat.jpg", "s3:GetObject"},
		{put, "arn:aws:s3:::photos/in/a.txt", "s3:PutObject"},
		{post, "arn:aws:s3:::photos/drop/*", "s3:PutObject"},
		{Share{Method: MethodPost, Bucket: "b"}, "arn:aws:s3:::b/*", "s3:PutObject"},
	} {
		if got := c.s.Resource(); got != c.res {
			t.Errorf("%s Resource = %q, want %q", c.s.Method, got, c.res)
		}
		if got := c.s.Action(); got != c.action {
			t.Errorf("%s Action = %q, want %q", c.s.Method, got, c.action)
		}
	}
}

func TestPermits(t *testing.T) {
	get := &Share{Method: MethodGet, Bucket: "photos", Key: "2026/cat.jpg"}
	put := &Share{Method: MethodPut, Bucket: "photos", Key: "in/a.txt"}
	post := &Share{Method: MethodPost, Bucket: "photos", Key: "drop/"}
	whole := &Share{Method: MethodPost, Bucket: "photos", Key: ""}
	bad := &Share{Method: "DELETE", Bucket: "photos", Key: "x"}
	for _, c := range []struct {
		s                           *Share
		method, action, bucket, key string
		ok                          bool
		why                         string // a part of the reason
	}{
		{get, "GET", "s3:GetObject", "photos", "2026/cat.jpg", true, ""},
		{get, "HEAD", "s3:GetObject", "photos", "2026/cat.jpg", true, ""},
		{get, "GET", "s3:GetObject", "other", "2026/cat.jpg", false, "another bucket"},
		{get, "GET", "s3:GetObject", "photos", "2026/dog.jpg", false, "another object"},
		{get, "GET", "s3:GetObject", "photos", "2026/cat.jpg/", false, "another object"},
		{get, "PUT", "s3:PutObject", "photos", "2026/cat.jpg", false, "only downloads"},
		{get, "GET", "s3:GetObjectAcl", "photos", "2026/cat.jpg", false, "only downloads"},
		{get, "DELETE", "s3:DeleteObject", "photos", "2026/cat.jpg", false, "only downloads"},
		{put, "PUT", "s3:PutObject", "photos", "in/a.txt", true, ""},
		{put, "PUT", "s3:PutObject", "photos", "in/b.txt", false, "another key"},
		{put, "GET", "s3:GetObject", "photos", "in/a.txt", false, "only uploads"},
		{put, "POST", "s3:PutObject", "photos", "in/a.txt", false, "only uploads"},
		{put, "PUT", "s3:PutObjectAcl", "photos", "in/a.txt", false, "only uploads"},
		{post, "POST", "s3:PutObject", "photos", "drop/x.jpg", true, ""},
		{post, "POST", "s3:PutObject", "photos", "drop/", true, ""},
		{post, "POST", "s3:PutObject", "photos", "dro", false, "only under drop/"},
		{post, "POST", "s3:PutObject", "photos", "other/drop/x", false, "only under drop/"},
		{post, "PUT", "s3:PutObject", "photos", "drop/x.jpg", false, "browser form"},
		{post, "POST", "s3:PutObject", "docs", "drop/x.jpg", false, "another bucket"},
		{whole, "POST", "s3:PutObject", "photos", "anything", true, ""},
		{bad, "DELETE", "s3:DeleteObject", "photos", "x", false, "damaged"},
	} {
		ok, why := c.s.Permits(c.method, c.action, c.bucket, c.key)
		if ok != c.ok || !strings.Contains(why, c.why) || ok && why != "" {
			t.Errorf("%s share: Permits(%s %s %s/%s) = %v %q, want %v %q", c.s.Method, c.method, c.action, c.bucket, c.key, ok, why, c.ok, c.why)
		}
	}
}

// countedCases are Counted's rules; they also seed FuzzCounted.
var countedCases = []struct {
	method, rng string
	want        bool
}{
	{"GET", "", true},
	{"PUT", "", true},
	{"POST", "", true},
	{"HEAD", "", false},
	{"DELETE", "", false},
	{"OPTIONS", "", false},
	{"PUT", "bytes=100-", true}, // only GETs' ranges matter
	{"HEAD", "bytes=0-", false},
	{"GET", "bytes=0-", true},
	{"GET", "bytes=0-99", true},
	{"GET", "bytes=00-5", true},
	{"GET", "bytes=000-", true},
	{"GET", " bytes=0-99 ", true},
	{"GET", "bytes= 0-99", true},
	{"GET", "bytes=100-", false},
	{"GET", "bytes=1-", false},
	{"GET", "bytes=100-199", false},
	{"GET", "bytes=-500", false},
	{"GET", "bytes=-0", false},
	{"GET", "bytes=0-1,5-9", true},
	{"GET", "bytes=5-9,0-1", false}, // the first range decides
	{"GET", "bytes=", true},
	{"GET", "bytes=abc", true},
	{"GET", "bytes=a-5", true},
	{"GET", "bytes=0x10-", true},
	{"GET", "bytes=+1-", true},
	{"GET", "garbage", true},
	{"GET", "items=0-5", true},
	{"GET", "items=100-", true},
	{"GET", "Bytes=100-", true}, // not "bytes=": not a byte range
}

func TestCounted(t *testing.T) {
	for _, c := range countedCases {
		if got := Counted(c.method, c.rng); got != c.want {
			t.Errorf("Counted(%q, %q) = %v, want %v", c.method, c.rng, got, c.want)
		}
	}
}

// FuzzCounted: Counted never panics; a request that is not a GET is
// counted exactly when it is a PUT or a POST, whatever its Range; a GET
// without a Range, or whose byte range starts at byte 0, is always
// counted; and a GET whose first byte range starts past 0 never is.
func FuzzCounted(f *testing.F) {
	for _, c := range countedCases {
		f.Add(c.method, c.rng)
	}
	f.Fuzz(func(t *testing.T, method, rng string) {
		got := Counted(method, rng)
		if method != "GET" {
			if want := method == "PUT" || method == "POST"; got != want {
				t.Fatalf("Counted(%q, %q) = %v, want %v", method, rng, got, want)
			}
			return
		}
		if rng == "" && !got {
			t.Fatalf("Counted(GET, \"\") = false")
		}
		if !got && !strings.HasPrefix(strings.TrimSpace(rng), "bytes=") {
			t.Fatalf("Counted(GET, %q) = false for a header that is not a byte range", rng)
		}
		// Built ranges: "bytes=0…-rest" always counted, "bytes=N-rest"
		// with N > 0 never.
		if !Counted("GET", "bytes=0-"+rng) || !Counted("GET", "bytes=00-"+rng) {
			t.Fatalf("Counted(GET, bytes=0-%q) = false", rng)
		}
		if Counted("GET", "bytes=1-"+rng) || Counted("GET", "bytes=-"+rng) {
			t.Fatalf("Counted(GET, bytes=1-%q or bytes=-%q) = true", rng, rng)
		}
	})
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"curl/8.5.0":       "curl/8.5.0",
		"ünï ✓":            "ünï ✓",
		"bad\xff\x00agent": "bad\uFFFD\uFFFDagent",
		"\xff\xfe":         "\uFFFD",
		"a\x00":            "a\uFFFD",
	} {
		if got := CleanText(in); got != want {
			t.Errorf("CleanText(%q) = %q, want %q", in, got, want)
		}
	}
}
