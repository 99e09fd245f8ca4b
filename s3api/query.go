package s3api

import (
	"github.com/postern/postern/proto/sigv4"
	"net/url"
	"strings"
)

// maxQueryParams is net/url's default limit: a longer query parses as empty,
// as url.ParseQuery leaves it.
const maxQueryParams = 10000

// query is a request's query string, parsed once with url.ParseQuery's rules
// (pairs with a ';' or a bad escape are skipped, '+' is a space) into a
// slice: requests carry a handful of parameters, so a linear search is as
// fast as a map. Values are kept as they came and unescaped when looked up:
// most requests (a presigned GET, say) only ask which keys are present.
type query []queryParam

type queryParam struct{ key, rawValue string }

// parseQuery appends the parameters of raw to q.
func parseQuery(q query, raw string) query {
	if raw == "" || strings.Count(raw, "&") >= maxQueryParams {
		return q
	}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, ok := queryUnescape(k)
		if ok && validEscapes(v) {
			q = append(q, queryParam{k, v})
		}
	}
	return q
}

func queryUnescape(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}

// validEscapes reports whether every '%' in s starts a %XX escape, which is
// when url.QueryUnescape accepts s.
func validEscapes(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0; i = strings.IndexByte(s, '%') {
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		s = s[i+3:]
	}
	return true
}

// Lookup returns the first value of key and whether key is present.
func (q query) Lookup(key string) (string, bool) {
	for i := range q {
		if q[i].key == key {
			v, _ := queryUnescape(q[i].rawValue) // checked by parseQuery
			return v, true
		}
	}
	return "", false
}

// Get returns the first value of key, or "".
func (q query) Get(key string) string {
	v, _ := q.Lookup(key)
	return v
}

// Has reports whether key is present, with or without a value.
func (q query) Has(key string) bool {
	_, ok := q.Lookup(key)
	return ok
}

func isHex(c byte) bool {
	_, ok := sigv4.Unhex(c)
	return ok
}
