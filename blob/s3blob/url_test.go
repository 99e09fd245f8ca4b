package s3blob

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Location
	}{
		{"s3://bucket", Location{Bucket: "bucket", VirtualHost: true}},
		{"s3://bucket/", Location{Bucket: "bucket", VirtualHost: true}},
		{"S3://my.bucket-1/a/b/", Location{Bucket: "my.bucket-1", Prefix: "a/b/", VirtualHost: true}},
		{"s3://backbucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1", Location{Bucket: "backbucket", Prefix: "prefix/", Endpoint: "http://127.0.0.1:9000", Region: "us-east-1"}},
		{"s3://b-1/p?endpoint=https://s3.example.com/&addressing=virtual", Location{Bucket: "b-1", Prefix: "p/", Endpoint: "https://s3.example.com", VirtualHost: true}},
		{"s3://b_1/p?addressing=path&region=eu-west-3", Location{Bucket: "b_1", Prefix: "p/", Region: "eu-west-3"}},
		{"s3://bkt/with%20space", Location{Bucket: "bkt", Prefix: "with space/", VirtualHost: true}},
	} {
		got, err := ParseURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("%q: %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestParseURLRefuses(t *testing.T) {
	for in, want := range map[string]string{
		"s3:/bucket":                              "want s3://",
		"gs://bucket":                             "want s3://",
		"s3://":                                   "no bucket",
		"s3://ab":                                 "3 to 63",
		"s3://Bucket":                             "lower-case",
		"s3://-bucket":                            "starts and ends",
		"s3://bucket:9000/p":                      "?endpoint=",
		"s3://key:secret@bucket/p":                "credentials do not belong",
		"s3://bucket/a//b":                        "empty",
		"s3://bucket/a/../b":                      `".."`,
		"s3://bucket/p#frag":                      "fragment",
		"s3://bucket/p?endpoint=ftp://h":          "want http://",
		"s3://bucket/p?endpoint=http://":          "want http://",
		"s3://bucket/p?endpoint=http://u:p@h":     "credentials",
		"s3://bucket/p?endpoint=http://h/x":       "only a scheme",
		"s3://bucket/p?region=us east":            "control characters",
		"s3://bucket/p?region=a/b":                "region",
		"s3://bucket/p?addressing=dns":            "path or virtual",
		"s3://bucket/p?color=blue":                `unknown option "color"`,
		"s3://bucket/p?region=a&region=b":         "2 times",
		"s3://bucket/p?region=%zz":                "bad query",
		"s3://bucket/" + strings.Repeat("p", 600): "at most",
	} {
		_, err := ParseURL(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want an error saying %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: the error repeats the secret: %v", in, err)
		}
	}
}

// FuzzParseURL: no input panics; what parses is a valid location whose
// String parses back to itself, and whose keys stay under its prefix.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"s3://bucket", "s3://b/p/q/", "s3://backbucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1",
		"s3://b-1/p?endpoint=https://h:1/&addressing=virtual", "s3://x@y/z", "s3://bucket/a/../b", "s3://bkt/%2e%2e/x",
		"s3://bucket/p?endpoint=http://[::1]:9000", "s3://bucket/p?region=a&region=b", "S3://BUCKET", "s3://bucket/p#x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		l, err := ParseURL(in)
		if err != nil {
			return
		}
		if checkBucket(l.Bucket) != nil {
			t.Fatalf("%q: bucket %q accepted", in, l.Bucket)
		}
		if l.Prefix != "" && (!strings.HasSuffix(l.Prefix, "/") || strings.HasPrefix(l.Prefix, "/") || strings.Contains(l.Prefix, "//")) {
			t.Fatalf("%q: prefix %q", in, l.Prefix)
		}
		for _, seg := range strings.Split(strings.TrimSuffix(l.Prefix, "/"), "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("%q: prefix %q has a dot segment", in, l.Prefix)
			}
		}
		back, err := ParseURL(l.String())
		if err != nil || back != l {
			t.Fatalf("%q: %+v renders as %q, which parses to %+v, %v", in, l, l.String(), back, err)
		}
		key := blobKey(l.Prefix, "0123456789abcdef0123456789abcdef")
		if id, ok := idOf(l.Prefix, key); !ok || id != "0123456789abcdef0123456789abcdef" {
			t.Fatalf("%q: key %q does not map back", in, key)
		}
	})
}

func TestKeys(t *testing.T) {
	id := "ab0123456789abcdef0123456789abcd"
	if k := blobKey("p/q/", id); k != "p/q/ab/"+id {
		t.Fatalf("key %q", k)
	}
	if k := blobKey("", id); k != "ab/"+id {
		t.Fatalf("key %q", k)
	}
	if got, ok := idOf("p/", "p/ab/"+id); !ok || got != id {
		t.Fatalf("idOf: %q %v", got, ok)
	}
	for _, k := range []string{
		"p/ac/" + id,                  // fan-out disagrees with the id
		"p/ab" + id,                   // no slash
		"q/ab/" + id,                  // another prefix
		"p/ab/" + strings.ToUpper(id), // not an id of ours
		"p/ab/" + id + "x",
		"p/ab/" + id[:31],
		"p/sub/ab/" + id,
		"p/ab/dir/bucket/object.txt",
	} {
		if got, ok := idOf("p/", k); ok {
			t.Errorf("idOf(%q) = %q: a foreign key taken for a blob", k, got)
		}
	}
}
