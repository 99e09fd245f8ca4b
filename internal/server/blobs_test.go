package server

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseBlobs(t *testing.T) {
	for _, c := range []struct {
		in, dir string
		own     bool
		err     string
	}{
		{"", filepath.Join("data", "blobs"), true, ""},
		{"/srv/blobs", "/srv/blobs", false, ""},
		{"rel/blobs/", "rel/blobs", false, ""},
		{"file:///mnt/ceph/postern", "/mnt/ceph/postern", false, ""},
		{"file://localhost/mnt/x", "/mnt/x", false, ""},
		{"file:///mnt/with%20space", "/mnt/with space", false, ""},
		{"file://server/share", "", false, "not on host"},
		{"file:///", "", false, "file:///absolute/path"},
		{"file:relative", "", false, "file:///absolute/path"},
		{"file:///x?y=1", "", false, "only a path"},
		{"s3://b", "", false, "3 to 63 characters"},
		{"s3://AK:hunter2pw@bucket/p", "", false, "credentials do not belong in the URL"},
		{"nfs://h/x", "", false, `unknown scheme "nfs"`},
	} {
		loc, err := parseBlobs(c.in, "data")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2pw") {
				t.Errorf("%q: the error repeats the secret: %v", c.in, err)
			}
			continue
		}
		if err != nil || loc.Dir != c.dir || loc.Own != c.own || loc.S3 != nil {
			t.Errorf("%q: %+v, %v; want dir %q own %v", c.in, loc, err, c.dir, c.own)
		}
	}
}

// s3:// locations name a bucket, a prefix and the service.
func TestParseBlobsS3(t *testing.T) {
	loc, err := parseBlobs("s3://backbucket/some/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-1", "data")
	if err != nil {
		t.Fatal(err)
	}
	if loc.Dir != "" || loc.Own || loc.S3 == nil {
		t.Fatalf("%+v: want an S3 location only", loc)
	}
	if l := *loc.S3; l.Bucket != "backbucket" || l.Prefix != "some/prefix/" || l.Endpoint != "http://127.0.0.1:9000" || l.Region != "eu-west-1" || l.VirtualHost {
		t.Errorf("%+v", l)
	}
	if loc, err := parseBlobs("S3://bucket", "data"); err != nil || loc.S3 == nil || loc.S3.Bucket != "bucket" || !loc.S3.VirtualHost {
		t.Errorf("S3://bucket: %+v, %v", loc, err)
	}
}
