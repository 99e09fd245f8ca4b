package policy

import "strings"

// Context supplies condition key values (and policy variable values) for a
// request. Condition keys are case-insensitive: Get is always called with a
// lower-cased key, so implementations must store keys lower-cased.
// A key that is present with no values is treated as absent.
type Context interface {
	Get(key string) ([]string, bool)
}

// MapContext is a map-backed Context with lower-cased keys. Build it once per
// request; lookups do not allocate.
type MapContext map[string][]string

// Get implements Context. key must already be lower-cased.
func (m MapContext) Get(key string) ([]string, bool) {
	v, ok := m[key]
	return v, ok
}

// Set stores values under key, lower-casing the key.
func (m MapContext) Set(key string, values ...string) {
	m[strings.ToLower(key)] = values
}

// NewContext copies kv into a new MapContext, lower-casing the keys.
func NewContext(kv map[string][]string) MapContext {
	m := make(MapContext, len(kv)+4)
	for k, v := range kv {
		m[strings.ToLower(k)] = v
	}
	return m
}

// SetPrincipal fills the global keys derived from the principal that are not
// already set: aws:PrincipalAccount, aws:PrincipalArn and, for IAM users,
// aws:username (the last path element of the user ARN). aws:userid is not
// derivable and must be set by the caller.
func (m MapContext) SetPrincipal(p Principal) {
	if p.Anonymous {
		return
	}
	setIfAbsent := func(k, v string) {
		if v == "" {
			return
		}
		if _, ok := m[k]; !ok {
			m[k] = []string{v}
		}
	}
	setIfAbsent("aws:principalaccount", p.Account)
	setIfAbsent("aws:principalarn", p.ARN)
	if a, ok := parseARN(p.ARN); ok && a.service == "iam" && strings.HasPrefix(a.resource, "user/") {
		setIfAbsent("aws:username", a.resource[strings.LastIndexByte(a.resource, '/')+1:])
	}
}

// lookup returns the non-empty values of key, or false.
func lookup(ctx Context, key string) ([]string, bool) {
	if ctx == nil {
		return nil, false
	}
	v, ok := ctx.Get(key)
	if !ok || len(v) == 0 {
		return nil, false
	}
	return v, true
}
