package s3api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/s3err"
)

// A request may name one version of an object: ?versionId= on GetObject,
// HeadObject and DeleteObject, <VersionId> in a DeleteObjects entry, and
// ?versionId= after the source of CopyObject and UploadPartCopy. Postern keeps
// one version per key, the null version (meta.NullVersionID), so a request
// that names it acts on the key's object, and a request that names any other
// version must not: it fails as AWS fails it for a version id S3 never
// issued. Whether an id is one Postern may have issued is meta.IsVersionID's
// decision alone.

// versionIDParam returns the versionId query parameter of an object request
// (raw is the request's raw query): ok is false when there is none. An empty
// value, or one that is not a version id Postern issues, is S3's 400
// InvalidArgument.
//
// It reads the raw query itself rather than the parsed one, which skips
// pairs it cannot decode: a versionId that failed to decode (a bad escape,
// a ';') must not turn the request into one for the current object. For the
// same reason several versionId parameters must all name the same version.
func versionIDParam(raw string) (vid string, ok bool, err error) {
	for rest := raw; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		k, v, _ := strings.Cut(pair, "=")
		name, _, semi := strings.Cut(k, ";")
		if name, kerr := url.QueryUnescape(name); kerr != nil || name != "versionId" {
			continue
		}
		dv, verr := url.QueryUnescape(v)
		if semi || verr != nil || strings.Contains(v, ";") {
			return "", false, errBadVersionID("Invalid version id specified", "versionId", v)
		}
		if ok && dv != vid {
			return "", false, errBadVersionID("Invalid version id specified", "versionId", dv)
		}
		vid, ok = dv, true
	}
	if !ok {
		return "", false, nil
	}
	if err := checkVersionID(vid, "versionId"); err != nil {
		return "", false, err
	}
	return vid, true, nil
}

// checkVersionID validates a version id given as the argument argName.
func checkVersionID(vid, argName string) error {
	switch {
	case vid == "":
		return errBadVersionID("Version id cannot be the empty string", argName, vid)
	case !meta.IsVersionID(vid):
		return errBadVersionID("Invalid version id specified", argName, vid)
	}
	return nil
}

func errBadVersionID(msg, argName, vid string) *s3err.Error {
	e := s3err.InvalidArgument(msg)
	e.Extra = append(e.Extra, kv("ArgumentName", argName), kv("ArgumentValue", vid))
	return e
}

// errNoSuchVersion is the answer to a request for a version the key does not
// have (for today: the null version of a key with no object).
func errNoSuchVersion(key, vid string) *s3err.Error {
	e := s3err.New(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.")
	e.Extra = append(e.Extra, kv("Key", key), kv("VersionId", vid))
	return e
}

// copySourceRef is a parsed x-amz-copy-source header.
type copySourceRef struct {
	bucket, key string
	versionID   string // meaningful when hasVersion
	hasVersion  bool
}

// parseCopySource parses x-amz-copy-source: "[/]bucket/key", the key
// URL-encoded, optionally followed by "?versionId=id". partCopy says the
// header is UploadPartCopy's, which AWS answers differently from CopyObject
// for a malformed version id: UploadPartCopy with InvalidArgument naming the
// header, CopyObject with a bare InvalidRequest.
func parseCopySource(raw string, partCopy bool) (copySourceRef, error) {
	var ref copySourceRef
	path := raw
	// The version is a query after the URL-encoded key, so the separator is
	// found in the header as sent: an encoded '?' (%3F) belongs to the key.
	if i := strings.Index(raw, "?versionId="); i >= 0 {
		path = raw[:i]
		v, err := url.QueryUnescape(raw[i+len("?versionId="):])
		if err != nil {
			v = raw[i+len("?versionId="):]
		}
		ref.versionID, ref.hasVersion = v, true
		if v == "" {
			return ref, errBadVersionID("Version id cannot be the empty string", "x-amz-copy-source", "")
		}
		if err != nil || !meta.IsVersionID(v) {
			if partCopy {
				return ref, errBadVersionID("Invalid version id specified", "x-amz-copy-source", v)
			}
			return ref, s3err.InvalidRequest("Invalid Request")
		}
	}
	src, err := url.PathUnescape(path)
	if err != nil {
		return ref, s3err.InvalidArgument("Invalid copy source encoding")
	}
	src = strings.TrimPrefix(src, "/")
	bucket, key, ok := strings.Cut(src, "/")
	if !ok || bucket == "" || key == "" {
		return ref, s3err.InvalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	if len(key) > MaxKeyLength {
		return ref, s3err.KeyTooLongError()
	}
	ref.bucket, ref.key = bucket, key
	return ref, nil
}
