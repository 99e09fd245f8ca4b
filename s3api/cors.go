package s3api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/cors"
	"github.com/postern/postern/proto/s3err"
)

func (h *Handler) bucketCORS(b *meta.Bucket) (*cors.Config, error) {
	doc := b.Configs[meta.ConfigCORS]
	if doc == nil {
		return nil, nil
	}
	c, err := cors.Parse(doc)
	if err != nil {
		// A stored document that no longer parses is the server's fault,
		// not the client's: an internal error (logged), not its S3 code.
		return nil, fmt.Errorf("stored CORS configuration of bucket %s: %v", b.Name, err)
	}
	return c, nil
}

func (h *Handler) putBucketCors(req *request, b *meta.Bucket) error {
	data, err := readBody(req, cors.MaxDocumentSize)
	if err != nil {
		return err
	}
	if _, err := cors.Parse(data); err != nil {
		return err
	}
	if err := h.deps.Meta.PutBucketConfig(req.r.Context(), b.Name, meta.ConfigCORS, data); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getBucketCors(req *request, b *meta.Bucket) error {
	c, err := h.bucketCORS(b)
	if err != nil {
		return err
	}
	if c == nil {
		e := s3err.New(http.StatusNotFound, "NoSuchCORSConfiguration", "The CORS configuration does not exist")
		e.Extra = append(e.Extra, kv("BucketName", b.Name))
		return e
	}
	req.w.Header().Set("Content-Type", "application/xml")
	req.w.WriteHeader(http.StatusOK)
	_, err = req.w.Write(c.Marshal())
	return err
}

func (h *Handler) deleteBucketCors(req *request, b *meta.Bucket) error {
	if err := h.deps.Meta.DeleteBucketConfig(req.r.Context(), b.Name, meta.ConfigCORS); err != nil && !errors.Is(err, meta.ErrNoSuchConfig) {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// preflight answers a CORS preflight (OPTIONS) from the bucket's rules. It
// needs no authentication, as in S3.
func (h *Handler) preflight(req *request) error {
	r := req.r
	origin := r.Header.Get("Origin")
	method := r.Header.Get("Access-Control-Request-Method")
	if origin == "" {
		return s3err.New(http.StatusBadRequest, "BadRequest", "Insufficient information. Origin request header needed.")
	}
	if method == "" {
		return s3err.New(http.StatusBadRequest, "BadRequest", "Invalid Access-Control-Request-Method: null")
	}
	if req.bucket == "" {
		return s3err.New(http.StatusForbidden, "AccessForbidden", "CORSResponse: Bucket not found")
	}
	b, err := h.deps.Meta.GetBucket(r.Context(), req.bucket)
	if err != nil {
		if errors.Is(err, meta.ErrNoSuchBucket) {
			return s3err.New(http.StatusForbidden, "AccessForbidden", "CORSResponse: Bucket not found")
		}
		return err
	}
	c, err := h.bucketCORS(&b)
	if err != nil {
		return err
	}
	if c == nil {
		return s3err.New(http.StatusForbidden, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.")
	}
	var reqHeaders []string
	for _, v := range r.Header.Values("Access-Control-Request-Headers") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				reqHeaders = append(reqHeaders, p)
			}
		}
	}
	hdr, ok := c.Preflight(origin, method, reqHeaders)
	if !ok {
		return s3err.New(http.StatusForbidden, "AccessForbidden", cors.DeniedMessage)
	}
	for k, v := range hdr {
		req.w.Header()[k] = v
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// addCORSHeaders adds the bucket's CORS response headers to a request that
// carries an Origin header.
func (h *Handler) addCORSHeaders(req *request, b *meta.Bucket) {
	origin := req.r.Header.Get("Origin")
	if origin == "" {
		return
	}
	c, err := h.bucketCORS(b)
	if err != nil || c == nil {
		return
	}
	for k, v := range c.Actual(origin, req.r.Method) {
		req.w.Header()[k] = v
	}
}
