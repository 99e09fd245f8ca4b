package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/postern/postern/blob"
	"github.com/postern/postern/blob/s3blob"
	"github.com/postern/postern/diskspace"
	"github.com/postern/postern/s3api"
)

// BlobLocation is where object bytes live (--blobs).
type BlobLocation struct {
	// Dir is the directory of a file: location.
	Dir string
	// Own is true for the default, DATA/blobs: a directory under the data
	// folder's lock, which no other server writes.
	Own bool
	// S3 is the bucket of an s3: location (Dir is then empty).
	S3 *s3blob.Location
}

// parseBlobs reads --blobs: empty (DATA/blobs), a directory, or a URL
// whose scheme names the back end. file:///path is a directory (local, or
// shared by several nodes); s3://BUCKET/PREFIX?endpoint=URL&region=R is a
// bucket of an S3 service.
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
		l, err := s3blob.ParseURL(v)
		if err != nil {
			shown := v
			if u, perr := url.Parse(v); perr == nil && u.User != nil {
				shown = u.Redacted()
			} else if perr != nil && strings.Contains(v, "@") {
				shown = "s3://…" // may hold a secret
			}
			return BlobLocation{}, fmt.Errorf("blobs %q: %v", shown, err)
		}
		return BlobLocation{S3: &l}, nil
	default:
		return BlobLocation{}, fmt.Errorf("blobs %q: unknown scheme %q (want a directory, file:///path or s3://BUCKET/PREFIX)", v, scheme)
	}
}

// openBlobs opens the blob back end cfg.Blobs names. dir is the directory
// back end, nil for S3.
func openBlobs(ctx context.Context, cfg *Config, space *diskspace.Guard, logger *slog.Logger) (b blob.Backend, dir *blob.Dir, err error) {
	if l := cfg.Blobs.S3; l != nil {
		st, err := s3blob.Open(ctx, *l)
		if err != nil {
			return nil, nil, err
		}
		// A bucket that does not exist or that the credentials cannot
		// reach is a configuration error: refuse to start. A back end
		// that does not answer may come back: start, and answer 503
		// until it does.
		if err := st.Check(ctx); err != nil {
			if !errors.Is(err, blob.ErrUnavailable) {
				return nil, nil, fmt.Errorf("blobs %s: %w", l, err)
			}
			logger.Warn("the S3 blob back end does not answer; object reads and writes fail until it does", "blobs", l.String(), "err", err)
		}
		logger.Info("object bytes in an S3 bucket", "blobs", l.String())
		return st, nil, nil
	}
	d, err := blob.OpenDir(cfg.Blobs.Dir)
	if err != nil {
		return nil, nil, err
	}
	d.Admit = space.Admit
	d.Exclusive = cfg.Blobs.Own // under the data folder's lock
	if !cfg.Blobs.Own {
		// Object files on a volume of their own (perhaps shared): admit
		// their bytes against its free space. The reserve file stays in
		// the data folder, for the metadata.
		bspace, err := diskspace.Open(cfg.Blobs.Dir, cfg.DiskMinFree, diskspace.Setting{}, logger)
		if err != nil {
			return nil, nil, err
		}
		d.Admit = bspace.Admit
	}
	return d, d, nil
}

// metaSpace admits uploads whose bytes go to a remote back end: only what
// may be kept inline in the metadata counts against the data volume.
type metaSpace struct{ g *diskspace.Guard }

func (m metaSpace) Admit(n int64) error { return m.g.Admit(min(n, s3api.InlineMax)) }
