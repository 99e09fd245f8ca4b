package migrate

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/blob"
	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/meta/sqlite"
	"github.com/postern/postern/share"
)

type side struct {
	Stores
	db  *sqlite.Store
	dir *blob.Dir
}

func open(t *testing.T) side {
	t.Helper()
	d := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(d, "meta.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	bd, err := blob.OpenDir(filepath.Join(d, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return side{Stores{Meta: db, IAM: db, Blobs: bd, Shares: db}, db, bd}
}

var t0 = time.Unix(1700000000, 0).UTC()

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func putBlob(t *testing.T, s side, data []byte) meta.Segment {
	t.Helper()
	w, err := s.Blobs.Create(context.Background())
	must(t, err)
	_, err = w.Write(data)
	must(t, err)
	must(t, w.Commit(context.Background()))
	sum := md5.Sum(data)
	return meta.Segment{BlobID: w.ID(), Size: int64(len(data)), PartETag: hex.EncodeToString(sum[:])}
}

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// fill makes a source with identities, a bucket with configurations,
// inline, single-blob and multipart objects, and an upload in progress.
func fill(t *testing.T, s side, objects int) {
	ctx := context.Background()
	acct := "111122223333"
	must(t, s.IAM.CreateAccount(ctx, iam.Account{ID: acct, CreatedAt: t0}))
	must(t, s.IAM.CreateAccount(ctx, iam.Account{ID: "444455556666", CreatedAt: t0, RootAccessKey: "AKIAROOT2", RootSecret: []byte("sealed-root")}))
	must(t, s.IAM.CreateUser(ctx, iam.User{ID: "AIDAALICE", AccountID: acct, Name: "alice", Path: "/", CreatedAt: t0}))
	must(t, s.IAM.CreateAccessKey(ctx, acct, "alice", iam.AccessKey{ID: "AKIAALICE", Secret: []byte("sealed"), Status: iam.StatusActive, CreatedAt: t0}))
	must(t, s.IAM.TouchAccessKey(ctx, "AKIAALICE", t0.Add(time.Hour), "s3", "us-east-1"))
	must(t, s.IAM.CreateGroup(ctx, iam.Group{ID: "AGPAG", AccountID: acct, Name: "readers", Path: "/", CreatedAt: t0}))
	must(t, s.IAM.AddUserToGroup(ctx, acct, "readers", "alice"))
	must(t, s.IAM.CreateRole(ctx, iam.Role{ID: "AROAR", AccountID: acct, Name: "r", Path: "/", TrustPolicy: "{}", MaxSessionDuration: 3600, CreatedAt: t0}))
	p := iam.ManagedPolicy{ID: "ANPAP", AccountID: acct, Name: "p", Path: "/", CreatedAt: t0, UpdatedAt: t0}
	must(t, s.IAM.CreatePolicy(ctx, p, `{"v":1}`))
	_, err := s.IAM.CreatePolicyVersion(ctx, p.ARN(), `{"v":2}`, true, t0)
	must(t, err)
	must(t, s.IAM.DeletePolicyVersion(ctx, p.ARN(), "v1"))
	must(t, s.IAM.AttachPolicy(ctx, acct, iam.EntityGroup, "readers", p.ARN()))
	must(t, s.IAM.PutInlinePolicy(ctx, acct, iam.EntityUser, "alice", "own", `{"inline":1}`, 12, 2048))

	must(t, s.Meta.CreateBucket(ctx, meta.Bucket{Name: "b", Owner: acct, Region: "us-east-1", CreatedAt: t0,
		Configs: map[string][]byte{meta.ConfigPolicy: []byte(`{"pol":1}`), meta.ConfigCORS: []byte("<cors/>")}}))
	small := []byte("small object")
	_, err = s.Meta.PutObject(ctx, meta.Object{Bucket: "b", Key: "inline", Size: int64(len(small)), ETag: md5hex(small), Inline: small, LastModified: t0, UserMeta: map[string]string{"a": "b"}}, meta.Condition{})
	must(t, err)
	_, err = s.Meta.PutObject(ctx, meta.Object{Bucket: "b", Key: "empty", ETag: md5hex(nil), LastModified: t0}, meta.Condition{})
	must(t, err)
	for i := 0; i < objects; i++ {
		data := bytes.Repeat([]byte{byte(i)}, 70<<10+i)
		seg := putBlob(t, s, data)
		seg.PartETag = ""
		_, err = s.Meta.PutObject(ctx, meta.Object{Bucket: "b", Key: fmt.Sprintf("obj/%03d", i), Size: seg.Size, ETag: md5hex(data), Segments: []meta.Segment{seg}, LastModified: t0, ContentType: "x/y"}, meta.Condition{})
		must(t, err)
	}
	// A completed multipart object of three parts.
	must(t, s.Meta.CreateUpload(ctx, meta.Upload{ID: "up1", Bucket: "b", Key: "multi", Initiated: t0, Owner: acct}))
	var segs []meta.Segment
	h := md5.New()
	var size int64
	for n := 1; n <= 3; n++ {
		data := bytes.Repeat([]byte{byte('a' + n)}, 100<<10)
		seg := putBlob(t, s, data)
		_, err := s.Meta.PutPart(ctx, "b", "multi", "up1", meta.Part{Number: n, Segment: seg, LastModified: t0})
		must(t, err)
		sum, _ := hex.DecodeString(seg.PartETag)
		h.Write(sum)
		segs = append(segs, seg)
		size += seg.Size
	}
	_, err = s.Meta.CompleteUpload(ctx, "b", "multi", "up1", meta.Object{Bucket: "b", Key: "multi", Size: size, ETag: hex.EncodeToString(h.Sum(nil)) + "-3", Segments: segs, PartsCount: 3, LastModified: t0}, meta.Condition{})
	must(t, err)
	// An upload in progress with two parts.
	must(t, s.Meta.CreateUpload(ctx, meta.Upload{ID: "up2", Bucket: "b", Key: "pending", Initiated: t0, Owner: acct, Template: meta.Object{ContentType: "a/b"}}))
	for n := 1; n <= 2; n++ {
		_, err := s.Meta.PutPart(ctx, "b", "pending", "up2", meta.Part{Number: n, Segment: putBlob(t, s, bytes.Repeat([]byte{byte(n)}, 80<<10)), LastModified: t0})
		must(t, err)
	}
}

// readAll reads an object's bytes from a side.
func readAll(t *testing.T, s side, o meta.Object) []byte {
	t.Helper()
	if o.Inline != nil {
		return o.Inline
	}
	var out []byte
	for _, seg := range o.Segments {
		rc, err := s.Blobs.Open(context.Background(), seg.BlobID, 0, seg.Size)
		must(t, err)
		b, err := io.ReadAll(rc)
		rc.Close()
		must(t, err)
		out = append(out, b...)
	}
	return out
}

// same checks that every object, upload and identity of from is in to.
func same(t *testing.T, from, to side) {
	t.Helper()
	ctx := context.Background()
	list, err := from.Meta.ListObjects(ctx, "b", meta.ListObjectsOptions{MaxKeys: 10000})
	must(t, err)
	got, err := to.Meta.ListObjects(ctx, "b", meta.ListObjectsOptions{MaxKeys: 10000})
	must(t, err)
	if len(got.Objects) != len(list.Objects) {
		t.Fatalf("target holds %d objects, source %d", len(got.Objects), len(list.Objects))
	}
	for _, lo := range list.Objects {
		a, err := from.Meta.GetObject(ctx, "b", lo.Key)
		must(t, err)
		b, err := to.Meta.GetObject(ctx, "b", lo.Key)
		must(t, err)
		if a.ETag != b.ETag || a.Size != b.Size || !a.LastModified.Equal(b.LastModified) || a.ContentType != b.ContentType || a.PartsCount != b.PartsCount || fmt.Sprint(a.UserMeta) != fmt.Sprint(b.UserMeta) {
			t.Fatalf("%s: source %+v, target %+v", lo.Key, a, b)
		}
		if !bytes.Equal(readAll(t, from, a), readAll(t, to, b)) {
			t.Fatalf("%s: bytes differ", lo.Key)
		}
	}
	parts, _, err := to.Meta.ListParts(ctx, "b", "pending", "up2", 0, 100)
	must(t, err)
	if len(parts) != 2 || parts[1].Segment.Size != 80<<10 {
		t.Fatalf("target's pending upload parts: %+v", parts)
	}
	b, err := to.Meta.GetBucket(ctx, "b")
	must(t, err)
	if string(b.Configs[meta.ConfigPolicy]) != `{"pol":1}` || string(b.Configs[meta.ConfigCORS]) != "<cors/>" {
		t.Fatalf("target bucket configs %q", b.Configs)
	}
	k, err := to.IAM.GetAccessKey(ctx, "AKIAALICE")
	must(t, err)
	if string(k.Secret) != "sealed" || !k.LastUsed.Equal(t0.Add(time.Hour)) || k.UserName != "alice" {
		t.Fatalf("target access key %+v", k)
	}
	docs, err := to.IAM.PolicyDocuments(ctx, "AIDAALICE")
	must(t, err)
	if strings.Join(docs, " ") != `{"inline":1} {"v":2}` && strings.Join(docs, " ") != `{"v":2} {"inline":1}` {
		t.Fatalf("alice's policies in the target: %q", docs)
	}
	vs, err := to.IAM.ListPolicyVersions(ctx, "arn:aws:iam::111122223333:policy/p")
	must(t, err)
	if len(vs) != 1 || vs[0].VersionID != "v2" || !vs[0].IsDefault {
		t.Fatalf("policy versions in the target: %+v", vs)
	}
	a, err := to.IAM.AccountByRootKey(ctx, "AKIAROOT2")
	must(t, err)
	if string(a.RootSecret) != "sealed-root" {
		t.Fatalf("account %+v", a)
	}
}

func TestRunCopiesEverythingThenIsANoOp(t *testing.T) {
	from, to := open(t), open(t)
	fill(t, from, 5)
	var out bytes.Buffer
	sum, err := Run(context.Background(), from.Stores, to.Stores, Options{Progress: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	same(t, from, to)
	if sum.Objects.Copied != 8 || sum.Uploads.Copied != 1 || sum.Parts.Copied != 2 || sum.Accounts.Copied != 2 || sum.Policies.Copied != 1 || sum.AccessKeys.Copied != 1 || sum.Memberships.Copied != 1 || sum.Attachments.Copied != 1 || sum.InlinePolicies.Copied != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(out.String(), "bucket b: done: 8 objects (8 copied, 0 already there)") {
		t.Errorf("progress:\n%s", out.String())
	}
	again, err := Run(context.Background(), from.Stores, to.Stores, Options{})
	if err != nil || again.Copied() != 0 || again.Objects.Existing != 8 || again.Parts.Existing != 2 || again.BytesCopied != 0 {
		t.Fatalf("second run: %v, %+v", err, again)
	}
}

// A source blob whose bytes no longer match its ETag fails the run with a
// clear message and leaves no object (and no blob) in the target.
func TestRunVerifiesETags(t *testing.T) {
	from, to := open(t), open(t)
	fill(t, from, 2)
	o, err := from.Meta.GetObject(context.Background(), "b", "obj/001")
	must(t, err)
	path := filepath.Join(from.dir.Root(), o.Segments[0].BlobID[:2], o.Segments[0].BlobID)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte("X"), 100)
	must(t, err)
	f.Close()
	sum, err := Run(context.Background(), from.Stores, to.Stores, Options{})
	if !errors.Is(err, ErrFailed) || len(sum.Failures) != 1 || !strings.Contains(sum.Failures[0], "obj/001") || !strings.Contains(sum.Failures[0], "verification failed") {
		t.Fatalf("err %v, failures %q", err, sum.Failures)
	}
	if _, err := to.Meta.GetObject(context.Background(), "b", "obj/001"); !errors.Is(err, meta.ErrNoSuchKey) {
		t.Fatalf("the unverified object is in the target: %v", err)
	}
	if sum.Objects.Copied != 4 {
		t.Fatalf("the other objects: %+v", sum.Objects)
	}
	n, err := to.dir.Sweep(context.Background(), time.Now().Add(time.Hour), to.db.BlobReferenced)
	must(t, err)
	if n != 0 {
		t.Fatalf("%d unreferenced blobs left in the target", n)
	}
}

// stopAfter cancels the run when the nth blob is committed in the target.
type stopAfter struct {
	blob.Backend
	n      int
	cancel context.CancelFunc
}

func (s *stopAfter) Create(ctx context.Context) (blob.Writer, error) {
	s.n--
	if s.n == 0 {
		s.cancel()
	}
	return s.Backend.Create(ctx)
}

// A run stopped part-way is resumed by the next: nothing lost, nothing
// copied twice.
func TestRunResumes(t *testing.T) {
	from, to := open(t), open(t)
	fill(t, from, 10)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := to.Stores
	stopped.Blobs = &stopAfter{Backend: to.Blobs, n: 6, cancel: cancel}
	first, err := Run(ctx, from.Stores, stopped, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	if first.Objects.Copied == 0 || first.Objects.Copied >= 13 {
		t.Fatalf("first run copied %d objects", first.Objects.Copied)
	}
	second, err := Run(context.Background(), from.Stores, to.Stores, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Objects.Existing != first.Objects.Copied || second.Objects.Total() != 13 || second.Accounts.Copied != 0 {
		t.Fatalf("first %+v\nsecond %+v", first.Objects, second.Objects)
	}
	same(t, from, to)
}

// With the source's server key, a secret it cannot open is not copied, and
// a target whose secrets are sealed with another key is refused at once.
func TestRunChecksSecrets(t *testing.T) {
	from, to := open(t), open(t)
	fill(t, from, 0)
	c1, err := iam.NewSecretChecker(bytes.Repeat([]byte{1}, iam.ServerKeySize))
	must(t, err)
	sum, err := Run(context.Background(), from.Stores, to.Stores, Options{Secrets: c1})
	if !errors.Is(err, ErrFailed) || len(sum.Failures) != 2 || !strings.Contains(strings.Join(sum.Failures, "\n"), "AKIAALICE") {
		t.Fatalf("err %v, failures %q", err, sum.Failures) // fill's secrets are not sealed with any key
	}
	if _, err := to.IAM.GetAccessKey(context.Background(), "AKIAALICE"); !errors.Is(err, iam.ErrNoSuchEntity) {
		t.Fatalf("a secret that does not open was copied: %v", err)
	}
	c2, _ := iam.NewSecretChecker(bytes.Repeat([]byte{2}, iam.ServerKeySize))
	if _, err := Run(context.Background(), from.Stores, to.Stores, Options{Secrets: c2}); !errors.Is(err, iam.ErrServerKeyMismatch) {
		t.Fatalf("target seeded with another key: %v", err)
	}
}

// Shares are copied with their uses, revocation, last use and every audit
// row (more than ListAudit's page), across share list pages; a second run
// finds them all; a target share that differs is a conflict.
func TestRunCopiesShares(t *testing.T) {
	ctx := context.Background()
	src, dst := open(t), open(t)
	acct := "111122223333"
	must(t, src.IAM.CreateAccount(ctx, iam.Account{ID: acct, CreatedAt: t0}))
	creator := share.Creator{Kind: "root", ARN: "arn:aws:iam::" + acct + ":root", UserID: acct}
	var shares []share.Share
	for i := range share.MaxList + 2 { // two list pages
		sh := share.Share{ID: fmt.Sprintf("shr-%020d", i), AccessKey: fmt.Sprintf("PSHR%016d", i), AccountID: acct, Creator: creator,
			Method: share.MethodGet, Bucket: "b", Key: fmt.Sprintf("k%d", i), CreatedAt: t0, Expires: t0.Add(time.Hour), MaxUses: 5}
		must(t, src.Shares.CreateShare(ctx, sh))
		shares = append(shares, sh)
	}
	used := shares[0].ID
	for range 2 {
		_, err := src.Shares.ClaimUse(ctx, used, t0.Add(time.Minute))
		must(t, err)
	}
	_, err := src.Shares.RevokeShare(ctx, used, creator.ARN, t0.Add(2*time.Minute))
	must(t, err)
	var rows []share.AuditEntry
	for i := range share.MaxAuditList + 3 {
		rows = append(rows, share.AuditEntry{ShareID: used, Time: t0.Add(time.Duration(i) * time.Millisecond), Source: "203.0.113.7",
			Method: "GET", Status: 200, Bytes: int64(i), RequestID: fmt.Sprint(i), Counted: i%2 == 0})
	}
	must(t, src.Shares.AddAudit(ctx, rows))

	sum, err := Run(ctx, src.Stores, dst.Stores, Options{})
	must(t, err)
	if sum.Shares.Copied != len(shares) || sum.ShareAudit.Copied != len(rows) {
		t.Fatalf("copied %d shares and %d audit rows, want %d and %d", sum.Shares.Copied, sum.ShareAudit.Copied, len(shares), len(rows))
	}
	got, err := dst.Shares.GetShare(ctx, used)
	must(t, err)
	if got.Uses != 2 || !got.RevokedAt.Equal(t0.Add(2*time.Minute)) || !got.LastUsed.Equal(t0.Add(time.Minute)) {
		t.Fatalf("copied share = %+v", got)
	}
	_, total, err := dst.Shares.ListAudit(ctx, used, 1)
	must(t, err)
	if total != int64(len(rows)) {
		t.Fatalf("copied audit total %d, want %d", total, len(rows))
	}
	if _, err := dst.Shares.GetShare(ctx, shares[len(shares)-1].ID); err != nil {
		t.Fatalf("the second page's share: %v", err)
	}

	// Again: everything is there.
	sum, err = Run(ctx, src.Stores, dst.Stores, Options{})
	must(t, err)
	if sum.Shares.Copied != 0 || sum.Shares.Existing != len(shares) || sum.ShareAudit.Existing != len(rows) {
		t.Fatalf("second run: %+v %+v", sum.Shares, sum.ShareAudit)
	}

	// The target's share changed: a conflict, reported, not overwritten.
	_, err = dst.Shares.ClaimUse(ctx, shares[1].ID, t0.Add(time.Minute))
	must(t, err)
	sum, err = Run(ctx, src.Stores, dst.Stores, Options{})
	if !errors.Is(err, ErrFailed) || len(sum.Failures) != 1 || !strings.Contains(sum.Failures[0], shares[1].ID) {
		t.Fatalf("conflict: %v, failures %v", err, sum.Failures)
	}
}
