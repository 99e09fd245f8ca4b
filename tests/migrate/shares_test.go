package migrate

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/internal/testserver"
	"github.com/postern/postern/meta/postgres"
	"github.com/postern/postern/meta/sqlite"
	"github.com/postern/postern/share"
)

// Shares made on an embedded deployment are in PostgreSQL after `postern
// migrate`, with their uses, revocation and audit rows; a second run finds
// them there. The shares are written into the stopped deployment's
// database through its store (what the share API does on a running server).
func TestMigrateCopiesShares(t *testing.T) {
	src := testserver.Start(t, testserver.Options{})
	must(t, src.Stop(30*time.Second))

	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(src.DataDir, "meta.db"), nil)
	must(t, err)
	accounts, err := db.ListAccounts(ctx)
	must(t, err)
	if len(accounts) == 0 {
		t.Fatal("the deployment has no account")
	}
	acct := accounts[0].ID
	now := time.Now().UTC().Truncate(time.Second)
	creator := share.Creator{Kind: "root", ARN: "arn:aws:iam::" + acct + ":root", UserID: acct}
	used := share.Share{ID: "shr-aaaaaaaaaaaaaaaaaaaa", AccessKey: "PSHRAAAAAAAAAAAAAAAA", AccountID: acct, Creator: creator,
		Method: share.MethodGet, Bucket: "data", Key: "report.pdf", Endpoint: "http://127.0.0.1:9000",
		CreatedAt: now, Expires: now.Add(24 * time.Hour), MaxUses: 5, Note: "for Alice"}
	revoked := share.Share{ID: "shr-bbbbbbbbbbbbbbbbbbbb", AccessKey: "PSHRBBBBBBBBBBBBBBBB", AccountID: acct, Creator: creator,
		Method: share.MethodPost, Bucket: "data", Key: "drop/", CreatedAt: now.Add(time.Second), Expires: now.Add(time.Hour), MaxSize: 1 << 20}
	must(t, db.CreateShare(ctx, used))
	must(t, db.CreateShare(ctx, revoked))
	for i := range 2 {
		_, err := db.ClaimUse(ctx, used.ID, now.Add(time.Duration(i+1)*time.Minute))
		must(t, err)
	}
	rows := []share.AuditEntry{
		{ShareID: used.ID, Time: now.Add(time.Minute), Source: "203.0.113.7", UserAgent: "curl/8.5.0", Method: "GET", Status: 200, Bytes: 4096, RequestID: "R1", Counted: true},
		{ShareID: used.ID, Time: now.Add(2 * time.Minute), Source: "203.0.113.8", UserAgent: "Mozilla/5.0", Method: "GET", Status: 200, Bytes: 4096, RequestID: "R2", Counted: true},
		{ShareID: used.ID, Time: now.Add(3 * time.Minute), Source: "203.0.113.8", UserAgent: "Mozilla/5.0", Method: "GET", Status: 206, Bytes: 96, Range: "bytes=4000-", RequestID: "R3"},
	}
	must(t, db.AddAudit(ctx, rows))
	_, err = db.RevokeShare(ctx, revoked.ID, creator.ARN, now.Add(5*time.Minute))
	must(t, err)
	must(t, db.Close())

	dsn := pgtest.DSN(t)
	blobs := t.TempDir()
	out, code := migrateCmd(t, "--from", src.DataDir, "--meta", dsn, "--blobs", blobs)
	t.Logf("migrate:\n%s", out)
	if code != 0 {
		t.Fatalf("migrate: exit %d", code)
	}
	for _, want := range []string{"shares                        2  (2 copied, 0 already there)", "share audit rows              3  (3 copied, 0 already there)"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}

	pg, err := postgres.OpenStore(ctx, dsn, postgres.Options{})
	must(t, err)
	defer pg.Close()
	got, err := pg.ShareByAccessKey(ctx, used.AccessKey)
	must(t, err)
	if got.ID != used.ID || got.Uses != 2 || got.MaxUses != 5 || !got.LastUsed.Equal(now.Add(3*time.Minute)) || got.Note != "for Alice" ||
		got.State(now.Add(4*time.Minute)) != share.StateActive {
		t.Fatalf("migrated share = %+v", got)
	}
	audit, total, err := pg.ListAudit(ctx, used.ID, 10)
	must(t, err)
	if total != 3 || len(audit) != 3 || audit[0].RequestID != "R3" || audit[0].Range != "bytes=4000-" || audit[2].UserAgent != "curl/8.5.0" {
		t.Fatalf("migrated audit: %d rows %+v", total, audit)
	}
	got, err = pg.GetShare(ctx, revoked.ID)
	must(t, err)
	if !got.RevokedAt.Equal(now.Add(5*time.Minute)) || got.RevokedBy != creator.ARN || got.Method != share.MethodPost || got.Key != "drop/" {
		t.Fatalf("migrated revoked share = %+v", got)
	}
	// The copy counts on: three more uses, then used up.
	for range 3 {
		_, err := pg.ClaimUse(ctx, used.ID, now.Add(4*time.Minute))
		must(t, err)
	}
	if _, err := pg.ClaimUse(ctx, used.ID, now.Add(4*time.Minute)); err != share.ErrUsedUp {
		t.Fatalf("sixth use on the copy: %v, want ErrUsedUp", err)
	}

	// Again: a share changed in the target since is a conflict, not
	// overwritten.
	out, code = migrateCmd(t, "--from", src.DataDir, "--meta", dsn, "--blobs", blobs)
	if code == 0 || !strings.Contains(out, "share "+used.ID) || !strings.Contains(out, "differs from the source's") {
		t.Fatalf("second migrate after the target's share changed: exit %d\n%s", code, out)
	}
	if got, err := pg.GetShare(ctx, used.ID); err != nil || got.Uses != 5 {
		t.Fatalf("the target's share after the refused run: %+v, %v", got, err)
	}
}
