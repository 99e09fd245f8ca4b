package s3api

import (
	"context"
	"encoding/xml"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/s3err"
)

// checkBucketName applies S3's general purpose bucket naming rules
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
func checkBucketName(name string) error {
	if !validBucketName(name) {
		e := s3err.InvalidBucketName()
		e.Extra = append(e.Extra, kv("BucketName", name))
		return e
	}
	return nil
}

func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' || c == '.':
			if i == 0 || i == len(name)-1 {
				return false
			}
			if c == '.' && (name[i-1] == '.' || name[i+1] == '.') {
				return false
			}
		default:
			return false
		}
	}
	if net.ParseIP(name) != nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	return true
}

func (h *Handler) ownerOf(accountID string) owner {
	return owner{ID: accountID, DisplayName: accountID}
}

func (h *Handler) listBuckets(req *request, _ *meta.Bucket) error {
	p := req.principal
	buckets, err := h.deps.Meta.ListBuckets(req.r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	res := listAllMyBucketsResult{Xmlns: s3Namespace, Owner: h.ownerOf(p.AccountID), Buckets: []bucketInfo{}}
	for _, b := range buckets {
		res.Buckets = append(res.Buckets, bucketInfo{Name: b.Name, CreationDate: xmlTime(b.CreatedAt), BucketRegion: b.Region})
	}
	return writeXML(req.w, http.StatusOK, res)
}

// maxConfigXML bounds configuration request bodies.
const maxConfigXML = 1 << 20

func (h *Handler) createBucket(req *request, _ *meta.Bucket) error {
	if req.r.ContentLength != 0 {
		var cfg createBucketConfiguration
		if err := readXML(req, maxConfigXML, &cfg); err != nil {
			return err
		}
		if lc := cfg.LocationConstraint; lc != "" && lc != h.deps.Region {
			e := s3err.InvalidLocationConstraint("The specified location-constraint is not valid")
			e.Extra = append(e.Extra, kv("LocationConstraint", lc))
			return e
		}
	}
	if acl := req.r.Header.Get("x-amz-acl"); acl != "" && acl != "private" {
		// Postern keeps buckets private; public access is granted with bucket policies.
		return s3err.New(http.StatusBadRequest, "InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
	}
	pab, _ := xml.Marshal(defaultPublicAccessBlock)
	err := h.deps.Meta.CreateBucket(req.r.Context(), meta.Bucket{
		Name:      req.bucket,
		Owner:     req.principal.AccountID,
		Region:    h.deps.Region,
		CreatedAt: h.now().UTC(),
		Configs:   map[string][]byte{meta.ConfigPublicAccessBlock: pab},
	})
	if errors.Is(err, meta.ErrBucketExists) {
		b, gerr := h.deps.Meta.GetBucket(req.r.Context(), req.bucket)
		if gerr == nil && b.Owner == req.principal.AccountID {
			return s3err.BucketAlreadyOwnedByYou()
		}
		return s3err.BucketAlreadyExists()
	}
	if err != nil {
		return err
	}
	req.w.Header().Set("Location", "/"+req.bucket)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteBucket(req *request, b *meta.Bucket) error {
	freed, err := h.deps.Meta.DeleteBucket(req.r.Context(), b.Name)
	if errors.Is(err, meta.ErrBucketNotEmpty) {
		e := s3err.BucketNotEmpty()
		e.Extra = append(e.Extra, kv("BucketName", b.Name))
		return e
	}
	if err != nil {
		return err
	}
	h.freeBlobs(req.r.Context(), freed)
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) headBucket(req *request, b *meta.Bucket) error {
	req.w.Header().Set("x-amz-bucket-region", b.Region)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getBucketLocation(req *request, b *meta.Bucket) error {
	loc := b.Region
	if loc == "us-east-1" {
		loc = "" // S3 reports the classic region as an empty constraint
	}
	return writeXML(req.w, http.StatusOK, locationConstraint{Xmlns: s3Namespace, Value: loc})
}

type versioningConfiguration struct {
	XMLName xml.Name `xml:"VersioningConfiguration"`
	Xmlns   string   `xml:"xmlns,attr"`
}

// getBucketVersioning reports versioning as never enabled, which is true:
// Postern keeps one version per key. Clients such as rclone ask.
func (h *Handler) getBucketVersioning(req *request, _ *meta.Bucket) error {
	return writeXML(req.w, http.StatusOK, versioningConfiguration{Xmlns: s3Namespace})
}

// freeBlobs deletes blobs no longer referenced. Failures only leave orphans,
// which the sweeper removes later. The metadata no longer refers to them,
// so a client that went away does not cut the deletion short.
func (h *Handler) freeBlobs(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	if err := h.deps.Blobs.Delete(context.WithoutCancel(ctx), ids...); err != nil {
		h.log.Warn("deleting unreferenced blobs", "err", err)
	}
}
