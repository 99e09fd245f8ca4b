package s3api

import (
	"net/url"
	"strings"
)

// maxQueryParams is net/url's default limit: a longer query parses as empty,
// as url.ParseQuery leaves it.
const maxQueryParams = 10000

// query is a request's query string, parsed once with url.ParseQuery's rules
// (pairs with a ';' or a bad escape are skipped, '+' is a space) into a
// slice: requests carry a handful of parameters, so a linear search is as
// fast as a map, and values without escapes stay substrings of the URL.
type query []queryParam

type queryParam struct{ key, value string }

func parseQuery(raw string) query {
	if raw == "" || strings.Count(raw, "&") >= maxQueryParams {
		return nil
	}
	q := make(query, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, ok1 := queryUnescape(k)
		v, ok2 := queryUnescape(v)
		if ok1 && ok2 {
			q = append(q, queryParam{k, v})
		}
	}
	return q
}

func queryUnescape(s string) (string, bool) {
	if !strings.ContainsAny(s, "%+") {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}

// Lookup returns the first value of key and whether key is present.
func (q query) Lookup(key string) (string, bool) {
	for i := range q {
		if q[i].key == key {
			return q[i].value, true
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
