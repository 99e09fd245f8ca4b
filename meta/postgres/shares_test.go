package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/share"
	"github.com/postern/postern/share/sharetest"
)

func TestShareConformance(t *testing.T) {
	sharetest.Run(t, func(t *testing.T) share.Store {
		s, _ := openStore(t)
		return s
	})
}

// Two nodes (two Stores, each with its own pool) on one database: claims
// racing on both are exact, and each sees the other's writes at once.
func TestShareConformanceTwoNodes(t *testing.T) {
	sharetest.RunShared(t, func(t *testing.T) (share.Store, share.Store) {
		a, dsn := openStore(t)
		return a, openStoreAt(t, dsn)
	})
}

// A database out of reach makes every share method fail with an error
// wrapping meta.ErrUnavailable (503 at the front ends), never hang.
func TestShareUnavailable(t *testing.T) {
	cl := pgtest.NewCluster(t)
	s, err := OpenStore(context.Background(), cl.DSN(t), Options{OpTimeout: 500 * time.Millisecond, ConnectTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Unix(1700000000, 0).UTC()
	sh := share.Share{ID: "shr-aaaaaaaaaaaaaaaaaaaa", AccessKey: "PSHRAAAAAAAAAAAAAAAA", AccountID: "111122223333",
		Creator: share.Creator{Kind: "root", ARN: "arn:aws:iam::111122223333:root", UserID: "111122223333"},
		Method:  share.MethodGet, Bucket: "b", Key: "k", CreatedAt: now, Expires: now.Add(time.Hour)}
	if err := s.CreateShare(ctx, sh); err != nil {
		t.Fatal(err)
	}
	cl.Stop(t)
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, meta.ErrUnavailable) {
			t.Errorf("%s with the database stopped: %v, want meta.ErrUnavailable", what, err)
		}
	}
	_, err = s.GetShare(ctx, sh.ID)
	check("GetShare", err)
	_, err = s.ShareByAccessKey(ctx, sh.AccessKey)
	check("ShareByAccessKey", err)
	_, _, err = s.ListShares(ctx, share.Filter{AccountID: sh.AccountID})
	check("ListShares", err)
	_, err = s.RevokeShare(ctx, sh.ID, "x", now)
	check("RevokeShare", err)
	_, err = s.ClaimUse(ctx, sh.ID, now)
	check("ClaimUse", err)
	check("ReleaseUse", s.ReleaseUse(ctx, sh.ID))
	check("AddAudit", s.AddAudit(ctx, []share.AuditEntry{{ShareID: sh.ID, Time: now}}))
	_, _, err = s.ListAudit(ctx, sh.ID, 10)
	check("ListAudit", err)
	sh.ID, sh.AccessKey = "shr-bbbbbbbbbbbbbbbbbbbb", "PSHRBBBBBBBBBBBBBBBB"
	check("CreateShare", s.CreateShare(ctx, sh))
	check("ImportShare", s.ImportShare(ctx, sh, nil))
	_, err = s.ExportAudit(ctx, sh.ID)
	check("ExportAudit", err)

	// Back: the same Store serves again (and the test's database can be
	// dropped).
	cl.Start(t)
	var got share.Share
	for range 2 { // a connection from before the restart may fail once
		if got, err = s.GetShare(ctx, "shr-aaaaaaaaaaaaaaaaaaaa"); err == nil {
			break
		}
	}
	if err != nil || got.AccessKey != "PSHRAAAAAAAAAAAAAAAA" {
		t.Fatalf("after the restart: %+v, %v", got, err)
	}
}
