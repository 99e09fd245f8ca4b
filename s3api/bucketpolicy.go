package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/postern/postern/meta"
	"github.com/postern/postern/policy"
	"github.com/postern/postern/proto/s3err"
)

// policyCache keeps parsed bucket policies by document text, so a request
// reads its bucket's current policy from the store (one query, with the
// bucket) and never re-parses it. A changed document is a new key: changes
// take effect on the very next request, on every node.
type policyCache struct {
	mu sync.RWMutex
	m  map[string]*policy.Policy
}

const policyCacheMax = 4096

func newPolicyCache() *policyCache { return &policyCache{m: map[string]*policy.Policy{}} }

func (c *policyCache) get(doc []byte) (*policy.Policy, error) {
	c.mu.RLock()
	p, ok := c.m[string(doc)]
	c.mu.RUnlock()
	if ok {
		return p, nil
	}
	p, err := policy.Parse(doc, policy.Resource)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= policyCacheMax {
		clear(c.m)
	}
	c.m[string(doc)] = p
	c.mu.Unlock()
	return p, nil
}

// bucketPolicy returns the bucket's parsed policy, or nil.
func (h *Handler) bucketPolicy(b *meta.Bucket) (*policy.Policy, error) {
	doc := b.Configs[meta.ConfigPolicy]
	if doc == nil {
		return nil, nil
	}
	return h.policies.get(doc)
}

// PublicAccessBlockConfiguration is S3 Block Public Access for a bucket.
type publicAccessBlock struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	Xmlns                 string   `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

// defaultPublicAccessBlock is what new buckets get, as in S3 since 2023:
// everything blocked, so that public grants are a deliberate choice.
var defaultPublicAccessBlock = publicAccessBlock{Xmlns: s3Namespace, BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}

// publicAccessBlock returns the bucket's Block Public Access settings
// (all off when none are stored), parsing each distinct document once.
func (h *Handler) publicAccessBlock(b *meta.Bucket) publicAccessBlock {
	doc := b.Configs[meta.ConfigPublicAccessBlock]
	if doc == nil {
		return publicAccessBlock{}
	}
	h.pabMu.RLock()
	v, ok := h.pabs[string(doc)]
	h.pabMu.RUnlock()
	if ok {
		return v
	}
	var pab publicAccessBlock
	if xml.Unmarshal(doc, &pab) != nil {
		return publicAccessBlock{}
	}
	h.pabMu.Lock()
	if h.pabs == nil {
		h.pabs = map[string]publicAccessBlock{}
	}
	h.pabs[string(doc)] = pab // few distinct documents exist: 16 settings combinations
	h.pabMu.Unlock()
	return pab
}

func (h *Handler) putBucketPolicy(req *request, b *meta.Bucket) error {
	data, err := readBody(req, policy.MaxBucketPolicySize*4)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return s3err.MalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
	}
	if err := policy.CheckSize(data, policy.MaxBucketPolicySize); err != nil {
		return s3err.MalformedPolicy("Policy exceeds the maximum allowed document size (20 KB).")
	}
	p, err := policy.Parse(data, policy.Resource)
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			return s3err.MalformedPolicy(pe.Message)
		}
		return s3err.MalformedPolicy(err.Error())
	}
	for _, r := range p.Resources() {
		if !resourceInBucket(r, b.Name) {
			return s3err.MalformedPolicy("Policy has invalid resource: " + r + " (a bucket policy may only name its own bucket, " + b.Name + ")")
		}
	}
	if p.IsPublic() && h.publicAccessBlock(b).BlockPublicPolicy {
		e := s3err.AccessDenied()
		e.Message = "User: " + req.principal.ARN + " is not authorized to perform: s3:PutBucketPolicy on resource: \"arn:aws:s3:::" + b.Name + "\" because public policies are blocked by the BlockPublicPolicy block public access setting."
		return e
	}
	if err := h.deps.Meta.PutBucketConfig(req.r.Context(), b.Name, meta.ConfigPolicy, data); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) getBucketPolicy(req *request, b *meta.Bucket) error {
	doc := b.Configs[meta.ConfigPolicy]
	if doc == nil {
		e := s3err.NoSuchBucketPolicy()
		e.Extra = append(e.Extra, kv("BucketName", b.Name))
		return e
	}
	req.w.Header().Set("Content-Type", "application/json")
	req.w.WriteHeader(http.StatusOK)
	_, err := req.w.Write(doc)
	return err
}

func (h *Handler) deleteBucketPolicy(req *request, b *meta.Bucket) error {
	if err := h.deps.Meta.DeleteBucketConfig(req.r.Context(), b.Name, meta.ConfigPolicy); err != nil && !errors.Is(err, meta.ErrNoSuchConfig) {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

type policyStatus struct {
	XMLName  xml.Name `xml:"PolicyStatus"`
	Xmlns    string   `xml:"xmlns,attr"`
	IsPublic bool     `xml:"IsPublic"`
}

func (h *Handler) getBucketPolicyStatus(req *request, b *meta.Bucket) error {
	p, err := h.bucketPolicy(b)
	if err != nil {
		return err
	}
	if p == nil {
		e := s3err.NoSuchBucketPolicy()
		e.Extra = append(e.Extra, kv("BucketName", b.Name))
		return e
	}
	return writeXML(req.w, http.StatusOK, policyStatus{Xmlns: s3Namespace, IsPublic: p.IsPublic()})
}

func (h *Handler) putPublicAccessBlock(req *request, b *meta.Bucket) error {
	var pab publicAccessBlock
	if err := readXML(req, maxConfigXML, &pab); err != nil {
		return err
	}
	pab.Xmlns = s3Namespace
	doc, _ := xml.Marshal(pab)
	if err := h.deps.Meta.PutBucketConfig(req.r.Context(), b.Name, meta.ConfigPublicAccessBlock, doc); err != nil {
		return err
	}
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getPublicAccessBlock(req *request, b *meta.Bucket) error {
	if b.Configs[meta.ConfigPublicAccessBlock] == nil {
		e := s3err.New(http.StatusNotFound, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
		e.Extra = append(e.Extra, kv("BucketName", b.Name))
		return e
	}
	pab := h.publicAccessBlock(b)
	pab.Xmlns = s3Namespace
	return writeXML(req.w, http.StatusOK, pab)
}

func (h *Handler) deletePublicAccessBlock(req *request, b *meta.Bucket) error {
	if err := h.deps.Meta.DeleteBucketConfig(req.r.Context(), b.Name, meta.ConfigPublicAccessBlock); err != nil && !errors.Is(err, meta.ErrNoSuchConfig) {
		return err
	}
	req.w.WriteHeader(http.StatusNoContent)
	return nil
}

// resourceInBucket reports whether a bucket policy's Resource can refer to
// bucket: "*", arn:aws:s3:::BUCKET[/…] where BUCKET may hold wildcards that
// match the bucket's name, or an S3 on Outposts ARN of that bucket.
func resourceInBucket(r, bucket string) bool {
	if r == "*" {
		return true
	}
	if rest, ok := strings.CutPrefix(r, "arn:aws:s3:::"); ok {
		name, _, _ := strings.Cut(rest, "/")
		ok, err := path.Match(name, bucket)
		return err == nil && ok
	}
	// S3 on Outposts ARNs name the bucket after "/bucket/"; the outpost they
	// name decides whether they ever match (see --outpost-id).
	if strings.HasPrefix(r, "arn:aws:s3-outposts:") {
		_, rest, ok := strings.Cut(r, "/bucket/")
		if !ok {
			return false
		}
		name, _, _ := strings.Cut(rest, "/")
		ok, err := path.Match(name, bucket)
		return err == nil && ok
	}
	return false
}
