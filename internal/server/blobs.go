package server

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// BlobLocation is where object bytes live (--blobs).
type BlobLocation struct {
	// Dir is the directory of a file: location.
	Dir string
	// Own is true for the default, DATA/blobs: a directory under the data
	// folder's lock, which no other server writes.
	Own bool
}

// parseBlobs reads --blobs: empty (DATA/blobs), a directory, or a URL
// whose scheme names the back end. file:///path is a directory (local, or
// shared by several nodes); s3:// is reserved for the S3 back end.
func parseBlobs(v, data string) (BlobLocation, error) {
	if v == "" {
		return BlobLocation{Dir: filepath.Join(data, "blobs"), Own: true}, nil
	}
	scheme, _, isURL := strings.Cut(v, "://")
	if !isURL {
		if strings.HasPrefix(v, "file:") {
			return BlobLocation{}, fmt.Errorf("blobs %q: want file:///absolute/path or a plain directory", v)
		}
		return BlobLocation{Dir: filepath.Clean(v)}, nil
	}
	switch strings.ToLower(scheme) {
	case "file":
		u, err := url.Parse(v)
		if err != nil {
			return BlobLocation{}, fmt.Errorf("blobs %q: %v", v, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return BlobLocation{}, fmt.Errorf("blobs %q: a file URL names a directory on this machine (file:///path), not on host %q", v, u.Host)
		}
		if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return BlobLocation{}, fmt.Errorf("blobs %q: a file URL takes only a path", v)
		}
		if !strings.HasPrefix(u.Path, "/") || u.Path == "/" {
			return BlobLocation{}, fmt.Errorf("blobs %q: want file:///absolute/path", v)
		}
		return BlobLocation{Dir: filepath.Clean(filepath.FromSlash(u.Path))}, nil
	case "s3":
		return BlobLocation{}, fmt.Errorf("blobs %q: the S3 back end is not built yet; give a directory (file:///path)", v)
	default:
		return BlobLocation{}, fmt.Errorf("blobs %q: unknown scheme %q (want a directory, file:///path, or s3:// once built)", v, scheme)
	}
}
