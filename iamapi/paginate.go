package iamapi

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// IAM's MaxItems: 1…1000, default 100.
const (
	defaultMaxItems = 100
	maxMaxItems     = 1000
)

// paginate returns the page of items (sorted by key) after the form's Marker,
// at most MaxItems long, and the marker of the next page ("" when none). The
// marker is the last key returned, opaque to clients.
func paginate[T any](f form, items []T, key func(T) string) ([]T, page, error) {
	n := defaultMaxItems
	if v := f.get("MaxItems"); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m < 1 || m > maxMaxItems {
			return nil, page{}, validationErr("1 validation error detected: Value '" + sanitize(v) + "' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000")
		}
		n = m
	}
	start := 0
	if m := f.get("Marker"); m != "" {
		after, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil {
			return nil, page{}, validationErr("Invalid Marker.")
		}
		for start < len(items) && strings.ToLower(key(items[start])) <= string(after) {
			start++
		}
	}
	end := min(start+n, len(items))
	out := items[start:end]
	if end < len(items) {
		last := strings.ToLower(key(items[end-1]))
		return out, page{IsTruncated: true, Marker: base64.RawURLEncoding.EncodeToString([]byte(last))}, nil
	}
	return out, page{}, nil
}
