package s3api

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/s3err"
)

func wantBadVersion(t *testing.T, what string, err error, code, msg, argName, argValue string) {
	t.Helper()
	var e *s3err.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Code != code || e.Message != msg {
		t.Errorf("%s: got %v, want 400 %s %q", what, err, code, msg)
		return
	}
	var got []string
	for _, x := range e.Extra {
		got = append(got, x.Key+"="+x.Value)
	}
	want := ""
	if argName != "" {
		want = "ArgumentName=" + argName + " ArgumentValue=" + argValue
	}
	if strings.Join(got, " ") != want {
		t.Errorf("%s: extra elements %v, want %q", what, got, want)
	}
}

func TestVersionIDParam(t *testing.T) {
	for _, raw := range []string{"", "tagging", "versionid=x", "version=abc", "versionIdx=abc", "%zz=1&a=b"} {
		if vid, ok, err := versionIDParam(raw); vid != "" || ok || err != nil {
			t.Errorf("%q: %q, %v, %v; want no version", raw, vid, ok, err)
		}
	}
	for _, raw := range []string{"versionId=null", "x-id=GetObject&versionId=null", "version%49d=nul%6C", "versionId=null&versionId=null"} {
		if vid, ok, err := versionIDParam(raw); vid != "null" || !ok || err != nil {
			t.Errorf("%q: %q, %v, %v; want null", raw, vid, ok, err)
		}
	}
	const invalid, empty = "Invalid version id specified", "Version id cannot be the empty string"
	for _, tc := range []struct{ raw, msg, value string }{
		{"versionId=", empty, ""},
		{"versionId", empty, ""},
		{"versionId=abc", invalid, "abc"},
		{"versionId=NULL", invalid, "NULL"},
		{"versionId=null%20", invalid, "null "},
		{"versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY", invalid, "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"},
		// What url.ParseQuery drops must not read as "no version".
		{"versionId=%zz", invalid, "%zz"},
		{"versionId=null;x", invalid, "null;x"},
		{"versionId;x=null", invalid, "null"},
		{"versionId=null&versionId=abc", invalid, "abc"},
		{"versionId=abc&versionId=null", invalid, "null"},
	} {
		_, _, err := versionIDParam(tc.raw)
		wantBadVersion(t, tc.raw, err, "InvalidArgument", tc.msg, "versionId", tc.value)
	}
}

func TestParseCopySource(t *testing.T) {
	for _, tc := range []struct {
		raw, bucket, key, vid string
		has                   bool
	}{
		{"b/k", "b", "k", "", false},
		{"/b/dir/k", "b", "dir/k", "", false},
		{"b/a%20b%3Fc", "b", "a b?c", "", false},
		{"b/k?versionId=null", "b", "k", "null", true},
		{"/b/a%3FversionId%3Dabc?versionId=null", "b", "a?versionId=abc", "null", true},
		{"b/k?x", "b", "k?x", "", false},
	} {
		ref, err := parseCopySource(tc.raw, false)
		if err != nil || ref.bucket != tc.bucket || ref.key != tc.key || ref.versionID != tc.vid || ref.hasVersion != tc.has {
			t.Errorf("%q: %+v, %v", tc.raw, ref, err)
		}
	}
	// An empty version id is the same error for both operations; another
	// id is InvalidRequest for CopyObject, InvalidArgument for UploadPartCopy.
	for _, part := range []bool{false, true} {
		_, err := parseCopySource("b/k?versionId=", part)
		wantBadVersion(t, "empty", err, "InvalidArgument", "Version id cannot be the empty string", "x-amz-copy-source", "")
		for _, v := range []string{"abc", "NULL", "%zz"} {
			_, err := parseCopySource("b/k?versionId="+v, part)
			if part {
				wantBadVersion(t, v, err, "InvalidArgument", "Invalid version id specified", "x-amz-copy-source", v)
			} else {
				wantBadVersion(t, v, err, "InvalidRequest", "Invalid Request", "", "")
			}
		}
	}
	for _, raw := range []string{"", "b", "b/", "/b", "%zz/k", "b/" + strings.Repeat("k", MaxKeyLength+1)} {
		if _, err := parseCopySource(raw, false); err == nil {
			t.Errorf("%q: no error", raw)
		}
	}
}

// A DeleteObjects entry tells apart no VersionId, an empty one and a value,
// and the result echoes it where AWS does: Key, VersionId, then Code and
// Message.
func TestDeleteObjectsVersionXML(t *testing.T) {
	var d deleteRequest
	body := `<Delete><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId/></Object>` +
		`<Object><Key>c</Key><VersionId>null</VersionId></Object><Object><Key>d</Key><VersionId>abc</VersionId></Object></Delete>`
	if err := xml.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range d.Objects {
		s := o.Key
		if o.VersionID != nil {
			s += "=" + *o.VersionID
		}
		got = append(got, s)
	}
	if strings.Join(got, " ") != "a b= c=null d=abc" {
		t.Errorf("parsed %v", got)
	}
	null, abc := meta.NullVersionID, "abc"
	res := deleteResult{
		Deleted: []deletedObject{{Key: "a"}, {Key: "c", VersionID: &null}},
		Errors:  []deleteError{{Key: "d", VersionID: &abc, Code: "NoSuchVersion", Message: "The specified version does not exist."}},
	}
	out, err := xml.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	want := `<DeleteResult xmlns=""><Deleted><Key>a</Key></Deleted><Deleted><Key>c</Key><VersionId>null</VersionId></Deleted>` +
		`<Error><Key>d</Key><VersionId>abc</VersionId><Code>NoSuchVersion</Code><Message>The specified version does not exist.</Message></Error></DeleteResult>`
	if string(out) != want {
		t.Errorf("DeleteResult:\n got %s\nwant %s", out, want)
	}
}

// Whatever the query, versionIDParam answers no version, the null version or
// a 400 InvalidArgument; and when the parsed query has a versionId, so does
// versionIDParam (it never reports "no version" for one).
func FuzzVersionIDParam(f *testing.F) {
	for _, s := range []string{"", "versionId=null", "versionId=", "versionId", "versionId=abc", "versionId=%zz",
		"versionId=null;x", "a=1&versionId=null&versionId=null", "version%49d=null", "versionId=null&versionId=v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		vid, ok, err := versionIDParam(raw)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) || e.Status != 400 || e.Code != "InvalidArgument" || ok {
				t.Fatalf("%q: %v, %v", raw, ok, err)
			}
			return
		}
		if ok != (vid == meta.NullVersionID) || (!ok && vid != "") {
			t.Fatalf("%q: %q, %v", raw, vid, ok)
		}
		if pv, pok := parseQuery(nil, raw).Lookup("versionId"); pok && (!ok || pv != vid) {
			t.Fatalf("%q: parsed query has versionId=%q, versionIDParam says %q, %v", raw, pv, vid, ok)
		}
	})
}

// Whatever the header, parseCopySource answers an S3 error or a bucket and a
// key within bounds, with at most the null version.
func FuzzParseCopySource(f *testing.F) {
	for _, s := range []string{"b/k", "/b/k?versionId=null", "b/k?versionId=", "b/k?versionId=abc", "b/a%3Fb", "%zz", "b/k?versionId=%zz", "/"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, part bool) {
		ref, err := parseCopySource(raw, part)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if ref.bucket == "" || ref.key == "" || len(ref.key) > MaxKeyLength || (ref.hasVersion && ref.versionID != meta.NullVersionID) ||
			(!ref.hasVersion && strings.Contains(raw, "?versionId=")) {
			t.Fatalf("%q: %+v", raw, ref)
		}
	})
}
