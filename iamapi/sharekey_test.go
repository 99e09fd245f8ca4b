package iamapi

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta/sqlite"
	"github.com/postern/postern/proto/sigv4"
	"github.com/postern/postern/share"
)

// A share link's access key, which the identity service knows (S3 requests
// signed with it are looked up), is an unknown key to IAM and STS.
func TestShareKeyUnknownToIAM(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	svc, err := iam.NewService(iam.Config{Store: st, Shares: st, ServerKey: make([]byte, iam.ServerKeySize),
		DefaultAccount: "123456789012", RootAccessKey: "AKIAROOTSHAREKEY00", RootSecretKey: "rootsecret",
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Init(ctx); err != nil {
		t.Fatal(err)
	}
	sh := share.Share{
		ID: share.IDPrefix + "abcdefghijklmnopqrst", AccessKey: share.AccessKeyPrefix + "ABCDEFGHIJKLMNOP",
		AccountID: "123456789012", Creator: share.Creator{Kind: "root", ARN: iam.RootARN("123456789012"), UserID: "123456789012"},
		Method: share.MethodGet, Bucket: "b", Key: "k", Endpoint: "http://127.0.0.1:9000",
		CreatedAt: now, Expires: now.Add(time.Hour),
	}
	if err := st.CreateShare(ctx, sh); err != nil {
		t.Fatal(err)
	}
	// The identity service itself knows the key (for S3)...
	if _, p, err := svc.Credentials(ctx, sh.AccessKey, ""); err != nil || p.Share == nil {
		t.Fatalf("Credentials(share key): %v %+v", err, p)
	}
	// ...IAM and STS do not.
	h := New(Config{Service: svc, Region: "us-east-1", Now: func() time.Time { return now }})
	if _, err := h.lookup(ctx, sh.AccessKey, ""); !errors.Is(err, sigv4.ErrUnknownAccessKey) {
		t.Fatalf("IAM lookup of a share key: %v, want ErrUnknownAccessKey", err)
	}
}
