package s3api

import (
	"encoding/xml"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/s3err"
)

// Faults are reported in S3's order: max-keys, then the version-id marker,
// then encoding-type.
func TestParseListVersions(t *testing.T) {
	for _, tc := range []struct {
		raw, msg string
	}{
		{"versions&max-keys=x&version-id-marker=zz&encoding-type=b", "Provided max-keys not an integer or within integer range"},
		{"versions&max-keys=-1", "Argument max-keys must be an integer between 0 and 2147483647"},
		{"versions&version-id-marker=null&encoding-type=b", "A version-id marker cannot be specified without a key marker."},
		{"versions&key-marker=&version-id-marker=null", "A version-id marker cannot be specified without a key marker."},
		{"versions&key-marker=k&version-id-marker=", "A version-id marker cannot be empty."},
		{"versions&key-marker=k&version-id-marker=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY&encoding-type=b", "Invalid version id specified"},
		{"versions&key-marker=k&version-id-marker=NULL", "Invalid version id specified"},
		{"versions&key-marker=k&version-id-marker=null&encoding-type=b", "Invalid Encoding Method specified in Request"},
	} {
		_, err := parseListVersions(parseQuery(nil, tc.raw))
		var e *s3err.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Code != "InvalidArgument" || e.Message != tc.msg {
			t.Errorf("%s: got %v, want 400 InvalidArgument %q", tc.raw, err, tc.msg)
		}
	}
	p, err := parseListVersions(parseQuery(nil, "versions&max-keys=5000&key-marker=a%2Fb&version-id-marker=null&prefix=a%2F&delimiter=%2F&encoding-type=URL"))
	want := listVersionsParams{prefix: "a/", delim: "/", keyMarker: "a/b", versionIDMarker: "null", maxKeys: MaxListKeys, enc: "url"}
	if err != nil || p != want {
		t.Errorf("parseListVersions = %+v, %v; want %+v", p, err, want)
	}
}

// The body has AWS's shape: Version and DeleteMarker elements interleaved in
// listing order, delete markers without ETag, Size or StorageClass, and
// every key-like field URL-encoded under encoding-type=url.
func TestVersionsResultXML(t *testing.T) {
	lm := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	page := meta.ListVersionsResult{
		Versions: []meta.ObjectVersion{
			{Object: meta.Object{Key: "a b", Size: 0, ETag: "e1", LastModified: lm, Checksums: map[string]string{"CRC32": "x"}, ChecksumType: "FULL_OBJECT"}, VersionID: "null", IsLatest: true},
			{Object: meta.Object{Key: "b", LastModified: lm}, VersionID: "v2", IsLatest: true, DeleteMarker: true},
			{Object: meta.Object{Key: "b", Size: 3, ETag: "e3", LastModified: lm}, VersionID: "v1"},
		},
		CommonPrefixes: []string{"c d/"},
		IsTruncated:    true, NextKeyMarker: "c d/",
	}
	p := listVersionsParams{prefix: "é", delim: "/", keyMarker: "k k", versionIDMarker: "null", maxKeys: 4, enc: "url"}
	out, err := xml.Marshal(versionsResult("bkt", p, page, owner{ID: "1", DisplayName: "1"}))
	if err != nil {
		t.Fatal(err)
	}
	own := `<Owner><ID>1</ID><DisplayName>1</DisplayName></Owner>`
	want := `<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><Prefix>%C3%A9</Prefix>` +
		`<KeyMarker>k+k</KeyMarker><VersionIdMarker>null</VersionIdMarker><NextKeyMarker>c+d/</NextKeyMarker>` +
		`<MaxKeys>4</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated><EncodingType>url</EncodingType>` +
		`<Version><Key>a+b</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><LastModified>2026-01-02T03:04:05.006Z</LastModified>` +
		`<ETag>&#34;e1&#34;</ETag><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType><Size>0</Size>` + own + `<StorageClass>STANDARD</StorageClass></Version>` +
		`<DeleteMarker><Key>b</Key><VersionId>v2</VersionId><IsLatest>true</IsLatest><LastModified>2026-01-02T03:04:05.006Z</LastModified>` + own + `</DeleteMarker>` +
		`<Version><Key>b</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest><LastModified>2026-01-02T03:04:05.006Z</LastModified>` +
		`<ETag>&#34;e3&#34;</ETag><Size>3</Size>` + own + `<StorageClass>STANDARD</StorageClass></Version>` +
		`<CommonPrefixes><Prefix>c+d/</Prefix></CommonPrefixes></ListVersionsResult>`
	if string(out) != want {
		t.Errorf("ListVersionsResult:\n got %s\nwant %s", out, want)
	}
	// An untruncated page carries no next markers, whatever the store left.
	page.IsTruncated, page.NextVersionIDMarker = false, "null"
	out, _ = xml.Marshal(versionsResult("bkt", listVersionsParams{maxKeys: 1000}, page, owner{}))
	if regexp.MustCompile(`Next|EncodingType|<Delimiter>`).Match(out) {
		t.Errorf("untruncated, unencoded page: %s", out)
	}
}

// Whatever the query, parseListVersions answers an InvalidArgument or
// parameters within S3's bounds, and never a version marker without a key
// marker.
func FuzzParseListVersions(f *testing.F) {
	for _, s := range []string{
		"versions", "versions&max-keys=7&prefix=a%2F&delimiter=%2F", "versions&key-marker=k&version-id-marker=null",
		"versions&version-id-marker=null", "versions&key-marker=k&version-id-marker=", "versions&encoding-type=url&max-keys=99999999999999999999",
		"versions&max-keys=-0&key-marker=%00&version-id-marker=null&encoding-type=URL",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parseListVersions(parseQuery(nil, raw))
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) || e.Status != 400 || e.Code != "InvalidArgument" {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if p.maxKeys < 0 || p.maxKeys > MaxListKeys || (p.enc != "" && p.enc != "url") ||
			(p.versionIDMarker != "" && (p.keyMarker == "" || !meta.IsVersionID(p.versionIDMarker))) {
			t.Fatalf("%q: %+v", raw, p)
		}
	})
}
