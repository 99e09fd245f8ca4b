package iam

import (
	"sync"

	"github.com/postern/postern/policy"
)

// parseCacheSize bounds the parsed-policy cache. Past it, one entry chosen at
// random is evicted per insertion.
const parseCacheSize = 4096

// parseCache keeps parsed policies by document text, so a request re-reads
// the documents in force from the store (revocation is immediate) without
// parsing them again. Documents are immutable values, so a hit is always
// current: a changed policy has different text.
type parseCache struct {
	mu sync.RWMutex
	m  map[cacheKey]*policy.Policy
}

type cacheKey struct {
	trust bool
	doc   string
}

func newParseCache() *parseCache { return &parseCache{m: make(map[cacheKey]*policy.Policy)} }

func (c *parseCache) get(k cacheKey) (*policy.Policy, bool) {
	c.mu.RLock()
	p, ok := c.m[k]
	c.mu.RUnlock()
	return p, ok
}

func (c *parseCache) put(k cacheKey, p *policy.Policy) {
	c.mu.Lock()
	if len(c.m) >= parseCacheSize {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = p
	c.mu.Unlock()
}

// identity parses an identity-based (or session) policy through the cache.
func (c *parseCache) identity(doc string) (*policy.Policy, error) {
	k := cacheKey{doc: doc}
	if p, ok := c.get(k); ok {
		return p, nil
	}
	p, err := policy.Parse([]byte(doc), policy.Identity)
	if err != nil {
		return nil, err
	}
	c.put(k, p)
	return p, nil
}

// trust parses a role trust policy through the cache.
func (c *parseCache) trust(doc string) (*policy.Policy, error) {
	k := cacheKey{trust: true, doc: doc}
	if p, ok := c.get(k); ok {
		return p, nil
	}
	p, err := ParseTrustPolicy(doc)
	if err != nil {
		return nil, err
	}
	c.put(k, p)
	return p, nil
}
