package iamapi

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Limits of the query-form parser.
const (
	// MaxBodyBytes bounds an IAM or STS request body. The largest legitimate
	// parameter is a policy document (131072 characters, URL-encoded up to
	// three times as long), so 1 MiB leaves ample room.
	MaxBodyBytes = 1 << 20
	// maxParams bounds the number of parameters of one request.
	maxParams = 1000
	// maxKeyLen bounds a parameter name.
	maxKeyLen = 256
)

// form holds the parameters of a query-API request: the URL query and the
// application/x-www-form-urlencoded body, merged. A name given twice is an
// error rather than a silent choice between the values.
type form map[string]string

var (
	errTooManyParams = errors.New("too many parameters")
	errDuplicate     = errors.New("duplicate parameter")
	errBadEncoding   = errors.New("invalid URL encoding")
	errBadKey        = errors.New("invalid parameter name")
)

// formError names the offending parameter.
type formError struct {
	err  error
	name string
}

func (e *formError) Error() string {
	if e.name == "" {
		return e.err.Error()
	}
	return e.err.Error() + ": " + strconv.Quote(e.name)
}

func (e *formError) Unwrap() error { return e.err }

// parseForm parses rawQuery and body (both URL-encoded, '+' meaning space).
func parseForm(rawQuery string, body []byte) (form, error) {
	f := form{}
	if err := f.add(rawQuery); err != nil {
		return nil, err
	}
	if err := f.add(string(body)); err != nil {
		return nil, err
	}
	return f, nil
}

func (f form) add(s string) error {
	for s != "" {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		if kv == "" {
			continue
		}
		if len(f) >= maxParams {
			return &formError{err: errTooManyParams}
		}
		rk, rv, _ := strings.Cut(kv, "=")
		k, err := url.QueryUnescape(rk)
		if err != nil {
			return &formError{err: errBadEncoding, name: truncate(rk)}
		}
		if k == "" || len(k) > maxKeyLen {
			return &formError{err: errBadKey, name: truncate(k)}
		}
		v, err := url.QueryUnescape(rv)
		if err != nil {
			return &formError{err: errBadEncoding, name: k}
		}
		if _, dup := f[k]; dup {
			return &formError{err: errDuplicate, name: k}
		}
		f[k] = v
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// get returns a parameter ("" when absent).
func (f form) get(name string) string { return f[name] }

// has reports whether a parameter is present.
func (f form) has(name string) bool {
	_, ok := f[name]
	return ok
}

// list returns the values of name.member.1, name.member.2, … (the query
// protocol's list encoding), stopping at the first gap.
func (f form) list(name string) []string {
	var out []string
	for i := 1; i <= maxParams; i++ {
		v, ok := f[name+".member."+strconv.Itoa(i)]
		if !ok {
			break
		}
		out = append(out, v)
	}
	return out
}
