package policye2e

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/postern/postern/internal/s3test"
)

// deleteObjects sends one DeleteObjects request; entries are "key" or
// "key@versionId". It returns "key@version" for each deleted entry and
// "key@version Code" for each error.
func deleteObjects(t *testing.T, c *s3.Client, bucket string, entries ...string) (deleted, errs []string) {
	t.Helper()
	var ids []types.ObjectIdentifier
	for _, e := range entries {
		k, v, ok := strings.Cut(e, "@")
		id := types.ObjectIdentifier{Key: aws.String(k)}
		if ok {
			id.VersionId = aws.String(v)
		}
		ids = append(ids, id)
	}
	out, err := c.DeleteObjects(ctx(t), &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: ids}})
	if err != nil {
		t.Fatalf("DeleteObjects %v: %v", entries, err)
	}
	for _, d := range out.Deleted {
		deleted = append(deleted, aws.ToString(d.Key)+"@"+aws.ToString(d.VersionId))
	}
	for _, e := range out.Errors {
		errs = append(errs, aws.ToString(e.Key)+"@"+aws.ToString(e.VersionId)+" "+aws.ToString(e.Code))
	}
	return deleted, errs
}

func wantList(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

// TestDeleteObjectsPerKey: DeleteObjects is authorized for each key it
// names (s3:DeleteObject on the object, as in AWS), not on the bucket: a
// user allowed s3:DeleteObject on bucket/* can use it, and a key the caller
// may not delete is an AccessDenied entry of a 200 answer while the others
// are deleted.
func TestDeleteObjectsPerKey(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t)
	root := sdk(t, srv, clientOpts{})
	b := s3test.NewBucket(t, root, "delobjs")
	for _, k := range []string{"tmp/1", "tmp/2", "keep", "other"} {
		mustPut(t, root, b, k, []byte("body of "+k))
	}
	_, user, _ := iamUser(t, srv, "bulk", doc(`{"Effect":"Allow","Action":"s3:DeleteObject","Resource":"`+objARN(b, "tmp/*")+`"}`))
	deleted, errs := deleteObjects(t, user, b, "tmp/1", "keep", "tmp/2")
	wantList(t, "DeleteObjects deleted", deleted, "tmp/1@", "tmp/2@")
	wantList(t, "DeleteObjects errors", errs, "keep@ AccessDenied")
	headMissing(t, root, b, "tmp/1")
	headMissing(t, root, b, "tmp/2")
	mustGet(t, root, b, "keep", []byte("body of keep"))

	_, nobody, _ := iamUser(t, srv, "nobody", "")
	deleted, errs = deleteObjects(t, nobody, b, "other")
	wantList(t, "DeleteObjects by a user without policies: deleted", deleted)
	wantList(t, "DeleteObjects by a user without policies: errors", errs, "other@ AccessDenied")
	mustGet(t, root, b, "other", []byte("body of other"))
}
