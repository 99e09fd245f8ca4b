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
		{"s3://bucket/prefix", "", false, "not built yet"},
		{"S3://bucket", "", false, "not built yet"},
		{"nfs://h/x", "", false, `unknown scheme "nfs"`},
	} {
		loc, err := parseBlobs(c.in, "data")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || loc.Dir != c.dir || loc.Own != c.own {
			t.Errorf("%q: %+v, %v; want dir %q own %v", c.in, loc, err, c.dir, c.own)
		}
	}
}
