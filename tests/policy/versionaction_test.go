package policye2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
)

// The tests in this file check that a request naming an object version is
// authorized with AWS's version actions (issue 17): GetObject and HeadObject
// with ?versionId= as s3:GetObjectVersion, DeleteObject with ?versionId= and
// a DeleteObjects entry with <VersionId> as s3:DeleteObjectVersion, and the
// source of CopyObject / UploadPartCopy with ?versionId= as
// s3:GetObjectVersion; and that such requests carry the s3:versionid
// condition key.

// presignGetVersion returns an SDK-presigned GET URL for bucket/key, naming
// versionID when it is not empty.
func presignGetVersion(t *testing.T, c *s3.Client, bucket, key, versionID string) string {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	p, err := s3.NewPresignClient(c).PresignGetObject(ctx(t), in, s3.WithPresignExpires(time.Hour))
	if err != nil {
		t.Fatalf("PresignGetObject: %v", err)
	}
	if versionID != "" && !strings.Contains(p.URL, "versionId="+versionID) {
		t.Fatalf("presigned URL %s does not name version %s", p.URL, versionID)
	}
	return p.URL
}

func deleteVersion(c *s3.Client, t *testing.T, bucket, key, versionID string) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	_, err := c.DeleteObject(ctx(t), in)
	return err
}

// TestDeleteObjectVersionAction: a Deny of s3:DeleteObjectVersion stops
// DeleteObject with versionId=null and a DeleteObjects entry naming a
// version, and nothing else; a Deny of s3:DeleteObject does not stop them.
func TestDeleteObjectVersionAction(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t)
	root := sdk(t, srv, clientOpts{})
	b := s3test.NewBucket(t, root, "dov")
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		mustPut(t, root, b, k, []byte("body of "+k))
	}
	userARN, user, userWho := iamUser(t, srv, "deleter", doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`))
	mustPutPolicy(t, root, b, doc(`{"Effect":"Deny","Principal":{"AWS":"`+userARN+`"},"Action":"s3:DeleteObjectVersion","Resource":"`+objARN(b, "*")+`"}`))

	err := deleteVersion(user, t, b, "a", "null")
	wantDenied(t, "DeleteObject versionId=null under a Deny of s3:DeleteObjectVersion", err,
		denial{who: userWho, action: "s3:DeleteObjectVersion", resource: objARN(b, "a"), why: explicitDenyResource})
	mustGet(t, root, b, "a", []byte("body of a"))

	deleted, errs := deleteObjects(t, user, b, "a@null", "b")
	wantList(t, "DeleteObjects deleted", deleted, "b@")
	wantList(t, "DeleteObjects errors", errs, "a@null AccessDenied")
	mustGet(t, root, b, "a", []byte("body of a"))
	headMissing(t, root, b, "b")

	// Deleting without naming a version is s3:DeleteObject, which the user has.
	if err := deleteVersion(user, t, b, "c", ""); err != nil {
		t.Fatalf("plain DeleteObject under a Deny of s3:DeleteObjectVersion: %v", err)
	}
	headMissing(t, root, b, "c")

	// The two actions are separate: a Deny of s3:DeleteObject alone stops
	// plain deletes, not deletes of a version.
	mustPutPolicy(t, root, b, doc(`{"Effect":"Deny","Principal":{"AWS":"`+userARN+`"},"Action":"s3:DeleteObject","Resource":"`+objARN(b, "*")+`"}`))
	err = deleteVersion(user, t, b, "d", "")
	wantDenied(t, "plain DeleteObject under a Deny of s3:DeleteObject", err,
		denial{who: userWho, action: "s3:DeleteObject", resource: objARN(b, "d"), why: explicitDenyResource})
	mustGet(t, root, b, "d", []byte("body of d"))
	if err := deleteVersion(user, t, b, "d", "null"); err != nil {
		t.Fatalf("DeleteObject versionId=null under a Deny of s3:DeleteObject only: %v", err)
	}
	headMissing(t, root, b, "d")
}

// TestGetObjectVersionAction: an Allow of only s3:GetObjectVersion permits
// GET and HEAD with versionId=null (signed or presigned) and a copy from
// a source naming versionId=null, and nothing that names no version.
func TestGetObjectVersionAction(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t)
	root := sdk(t, srv, clientOpts{})
	b := s3test.NewBucket(t, root, "gov")
	body := []byte("versioned body")
	mustPut(t, root, b, "k", body)
	_, user, userWho := iamUser(t, srv, "reader", doc(
		`{"Effect":"Allow","Action":"s3:GetObjectVersion","Resource":"`+objARN(b, "k")+`"}`,
		`{"Effect":"Allow","Action":"s3:PutObject","Resource":"`+objARN(b, "copy*")+`"}`))
	kARN := objARN(b, "k")

	g, err := user.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("null")})
	if err != nil {
		t.Fatalf("GetObject versionId=null with s3:GetObjectVersion: %v", err)
	}
	got, err := io.ReadAll(g.Body)
	g.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	s3test.EqualBytes(t, "GetObject versionId=null", got, body)
	if _, err := user.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("null")}); err != nil {
		t.Fatalf("HeadObject versionId=null with s3:GetObjectVersion: %v", err)
	}

	_, err = user.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	wantDenied(t, "plain GetObject with only s3:GetObjectVersion", err, denial{who: userWho, action: "s3:GetObject", resource: kARN})
	_, err = user.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	wantErr(t, "plain HeadObject with only s3:GetObjectVersion", err, http.StatusForbidden, "Forbidden")

	// Presigned URLs follow the same rule.
	hc := httpFrom("")
	wantOK(t, "presigned GET versionId=null", do(t, hc, http.MethodGet, presignGetVersion(t, user, b, "k", "null"), nil, nil), body)
	wantRawDenied(t, "presigned plain GET", do(t, hc, http.MethodGet, presignGetVersion(t, user, b, "k", ""), nil, nil),
		denial{who: userWho, action: "s3:GetObject", resource: kARN})

	// A copy reads its source with s3:GetObjectVersion when the source names a version.
	if _, err := user.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy1"), CopySource: aws.String(b + "/k?versionId=null")}); err != nil {
		t.Fatalf("CopyObject from k?versionId=null with s3:GetObjectVersion: %v", err)
	}
	mustGet(t, root, b, "copy1", body)
	_, err = user.CopyObject(ctx(t), &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("copy2"), CopySource: aws.String(b + "/k")})
	wantDenied(t, "CopyObject from k (no version) with only s3:GetObjectVersion", err, denial{who: userWho, action: "s3:GetObject", resource: kARN})
	headMissing(t, root, b, "copy2")

	mu, err := user.CreateMultipartUpload(ctx(t), &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("copy3")})
	if err != nil {
		t.Fatalf("CreateMultipartUpload: %v", err)
	}
	upc := func(src string) error {
		_, err := user.UploadPartCopy(ctx(t), &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("copy3"),
			UploadId: mu.UploadId, PartNumber: aws.Int32(1), CopySource: aws.String(src)})
		return err
	}
	if err := upc(b + "/k?versionId=null"); err != nil {
		t.Fatalf("UploadPartCopy from k?versionId=null with s3:GetObjectVersion: %v", err)
	}
	wantDenied(t, "UploadPartCopy from k (no version) with only s3:GetObjectVersion", upc(b+"/k"), denial{who: userWho, action: "s3:GetObject", resource: kARN})
	if _, err := root.AbortMultipartUpload(ctx(t), &s3.AbortMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("copy3"), UploadId: mu.UploadId}); err != nil {
		t.Fatalf("AbortMultipartUpload: %v", err)
	}
}

// TestVersionIDConditionKey: requests naming a version carry s3:versionid,
// per DeleteObjects entry; requests naming none do not.
func TestVersionIDConditionKey(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t)
	root := sdk(t, srv, clientOpts{})
	b := s3test.NewBucket(t, root, "vidkey")
	for _, k := range []string{"a", "b", "c", "k"} {
		mustPut(t, root, b, k, []byte("body of "+k))
	}
	userARN, user, userWho := iamUser(t, srv, "versioned", "")
	kARN := objARN(b, "k")

	// Allowed only for the null version (and s3:GetObject only when no
	// version is named, which s3:versionid's absence tells).
	mustPutPolicy(t, root, b, doc(
		`{"Effect":"Allow","Principal":{"AWS":"`+userARN+`"},"Action":"s3:GetObjectVersion","Resource":"`+kARN+`","Condition":{"StringEquals":{"s3:versionid":"null"}}}`,
		`{"Effect":"Allow","Principal":{"AWS":"`+userARN+`"},"Action":"s3:GetObject","Resource":"`+kARN+`","Condition":{"Null":{"s3:versionid":"true"}}}`,
		`{"Effect":"Allow","Principal":{"AWS":"`+userARN+`"},"Action":["s3:DeleteObject","s3:DeleteObjectVersion"],"Resource":"`+objARN(b, "*")+`"}`,
		`{"Effect":"Deny","Principal":{"AWS":"`+userARN+`"},"Action":"s3:DeleteObjectVersion","Resource":"`+objARN(b, "*")+`","Condition":{"StringEquals":{"s3:versionid":"null"}}}`))
	mustGet(t, user, b, "k", []byte("body of k"))
	hc := httpFrom("")
	wantOK(t, "presigned GET versionId=null allowed on s3:versionid", do(t, hc, http.MethodGet, presignGetVersion(t, user, b, "k", "null"), nil, nil), []byte("body of k"))
	// Another version id is not allowed by the condition: denied before
	// the id is looked at.
	_, err := user.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("3HL4kqtJlcpXroDTDmJ")})
	wantDenied(t, "GetObject of a version the condition does not allow", err, denial{who: userWho, action: "s3:GetObjectVersion", resource: kARN})

	// The Deny applies to the null version only: the entry naming another
	// version passes authorization (and is NoSuchVersion), the entry naming
	// none is a plain delete.
	err = deleteVersion(user, t, b, "a", "null")
	wantDenied(t, "DeleteObject versionId=null denied on s3:versionid", err,
		denial{who: userWho, action: "s3:DeleteObjectVersion", resource: objARN(b, "a"), why: explicitDenyResource})
	deleted, errs := deleteObjects(t, user, b, "a@null", "b@3HL4kqtJlcpXroDTDmJ", "c")
	wantList(t, "DeleteObjects deleted", deleted, "c@")
	wantList(t, "DeleteObjects errors", errs, "a@null AccessDenied", "b@3HL4kqtJlcpXroDTDmJ NoSuchVersion")
	mustGet(t, root, b, "a", []byte("body of a"))
	mustGet(t, root, b, "b", []byte("body of b"))
	headMissing(t, root, b, "c")
}
