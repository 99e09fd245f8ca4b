// Package migrate copies a Postern deployment from one set of stores to
// another: identities (iam.Store), buckets, objects and multipart uploads
// (meta.Store), object bytes (blob.Backend) and tracked share links with
// their audit rows (share.Store, share.Importer). `postern migrate` uses it to
// move an embedded deployment (SQLite and files in a data folder) onto
// PostgreSQL and shared storage; it knows the stores only by their
// interfaces.
//
// A run is resumable and idempotent: every entity is looked up in the
// target first and written only when missing, and an object's metadata is
// written only after all its bytes are in the target and verified, so an
// interrupted run (kill -9 included) leaves at most unreferenced blobs,
// which the target's orphan sweep removes, and the next run carries on.
// A target entity that differs from its source (another owner, another
// ETag) is never overwritten: it is reported as a conflict and the run
// fails.
package migrate

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/postern/postern/blob"
	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/policy"
	"github.com/postern/postern/share"
)

// Stores is one side of a migration.
type Stores struct {
	Meta  meta.Store
	IAM   iam.Store
	Blobs blob.Backend
	// Shares, when set on both sides, are copied with their audit rows;
	// both must also implement share.Importer (the source's ExportAudit,
	// the target's ImportShare).
	Shares share.Store
}

// Options tune a run.
type Options struct {
	// Progress receives progress lines and the summary; nil discards them.
	Progress io.Writer
	// ProgressEvery is the least time between two progress lines within a
	// bucket (default 2 s).
	ProgressEvery time.Duration
	// Secrets, if set, holds the source's server key: every sealed secret
	// (access keys, accounts' root keys) must open with it before it is
	// copied (else that item fails), and the target is first given a
	// server key check sealed with it (iam.SecretChecker). Secrets are
	// copied sealed, as they are, so the target's nodes need that key.
	Secrets Secrets
	// PageSize is the listing page size (default 1000).
	PageSize int
}

// Secrets checks sealed secrets against the source's server key
// (*iam.SecretChecker).
type Secrets interface {
	Check(accessKey string, sealed []byte) error
	SeedKeyCheck(ctx context.Context, store iam.Store) error
}

// Count counts one kind of entity: copied by this run, or found already in
// the target.
type Count struct{ Copied, Existing int }

// Total is Copied + Existing.
func (c Count) Total() int { return c.Copied + c.Existing }

// Summary is what a run did.
type Summary struct {
	Accounts, Users, AccessKeys, Groups, Memberships, Roles, Policies, Attachments, InlinePolicies Count
	Buckets, BucketConfigs, Objects, Uploads, Parts                                                Count
	Shares, ShareAudit                                                                             Count
	// BytesCopied is the number of object and part bytes copied and
	// verified by this run; BytesExisting those found in the target.
	BytesCopied, BytesExisting int64
	// Failures are the items that could not be copied, each with its reason.
	Failures []string
}

// Copied is the number of entities this run wrote.
func (s *Summary) Copied() int {
	n := 0
	for _, c := range s.counts() {
		n += c.c.Copied
	}
	return n
}

type namedCount struct {
	name string
	c    Count
}

func (s *Summary) counts() []namedCount {
	return []namedCount{
		{"accounts", s.Accounts}, {"users", s.Users}, {"access keys", s.AccessKeys}, {"groups", s.Groups},
		{"group members", s.Memberships}, {"roles", s.Roles}, {"managed policies", s.Policies},
		{"policy attachments", s.Attachments}, {"inline policies", s.InlinePolicies},
		{"buckets", s.Buckets}, {"bucket configurations", s.BucketConfigs}, {"objects", s.Objects},
		{"multipart uploads", s.Uploads}, {"upload parts", s.Parts},
		{"shares", s.Shares}, {"share audit rows", s.ShareAudit},
	}
}

// ErrFailed is returned (wrapped) by Run when some items failed; the
// Summary lists them.
var ErrFailed = errors.New("migrate: some items were not copied")

// Run copies everything from from to to. It returns the summary and, when
// any item failed, an error wrapping ErrFailed (the run still copies every
// other item). A context error stops the run at once.
func Run(ctx context.Context, from, to Stores, opt Options) (Summary, error) {
	if opt.Progress == nil {
		opt.Progress = io.Discard
	}
	if opt.ProgressEvery <= 0 {
		opt.ProgressEvery = 2 * time.Second
	}
	if opt.PageSize <= 0 {
		opt.PageSize = 1000
	}
	r := &run{from: from, to: to, opt: opt}
	if opt.Secrets != nil {
		if err := opt.Secrets.SeedKeyCheck(ctx, to.IAM); err != nil {
			return r.sum, fmt.Errorf("the target: %w", err)
		}
	}
	if err := r.identities(ctx); err != nil {
		return r.sum, err
	}
	if err := r.buckets(ctx); err != nil {
		return r.sum, err
	}
	if err := r.shares(ctx); err != nil {
		return r.sum, err
	}
	if len(r.sum.Failures) > 0 {
		return r.sum, fmt.Errorf("%w: %d failed", ErrFailed, len(r.sum.Failures))
	}
	return r.sum, nil
}

type run struct {
	from, to Stores
	opt      Options
	sum      Summary
	lastLine time.Time
}

func (r *run) printf(format string, args ...any) {
	fmt.Fprintf(r.opt.Progress, format+"\n", args...)
}

// fail records a failed item. Context errors are not item failures: the
// caller returns them.
func (r *run) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.sum.Failures = append(r.sum.Failures, msg)
	r.printf("FAILED: %s", msg)
}

// WriteSummary prints the summary: one line per kind of entity, the bytes,
// and the failures.
func (s *Summary) WriteSummary(w io.Writer) {
	for _, c := range s.counts() {
		fmt.Fprintf(w, "  %-22s %8d  (%d copied, %d already there)\n", c.name, c.c.Total(), c.c.Copied, c.c.Existing)
	}
	fmt.Fprintf(w, "  %-22s %8s  (%s copied and verified, %s already there)\n", "object bytes",
		FormatBytes(s.BytesCopied+s.BytesExisting), FormatBytes(s.BytesCopied), FormatBytes(s.BytesExisting))
	for _, f := range s.Failures {
		fmt.Fprintf(w, "  FAILED: %s\n", f)
	}
}

// FormatBytes writes n in binary units (1.5 GiB).
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// --- identities --------------------------------------------------------------

func (r *run) identities(ctx context.Context) error {
	accounts, err := r.from.IAM.ListAccounts(ctx)
	if err != nil {
		return fmt.Errorf("listing the source's accounts: %w", err)
	}
	for _, a := range accounts {
		if err := r.account(ctx, a); err != nil {
			return err
		}
	}
	r.printf("identities: %d accounts, %d users, %d access keys, %d groups, %d roles, %d managed policies",
		r.sum.Accounts.Total(), r.sum.Users.Total(), r.sum.AccessKeys.Total(), r.sum.Groups.Total(), r.sum.Roles.Total(), r.sum.Policies.Total())
	return nil
}

// exists reports whether err says the entity is missing (false, nil), or
// returns the error of a failed lookup.
func iamExists(err error) (bool, error) {
	if err == nil {
		return true, nil
	}
	if errors.Is(err, iam.ErrNoSuchEntity) {
		return false, nil
	}
	return false, err
}

func (r *run) checkSecret(accessKey string, sealed []byte) error {
	if r.opt.Secrets == nil {
		return nil
	}
	return r.opt.Secrets.Check(accessKey, sealed)
}

func (r *run) account(ctx context.Context, a iam.Account) error {
	got, err := r.to.IAM.GetAccount(ctx, a.ID)
	found, err := iamExists(err)
	if err != nil {
		return fmt.Errorf("account %s in the target: %w", a.ID, err)
	}
	switch {
	case found && got.RootAccessKey != a.RootAccessKey:
		r.fail("account %s: the target's has root access key %q, the source's %q", a.ID, got.RootAccessKey, a.RootAccessKey)
		return nil
	case found:
		r.sum.Accounts.Existing++
	default:
		if a.RootAccessKey != "" {
			if err := r.checkSecret(a.RootAccessKey, a.RootSecret); err != nil {
				r.fail("account %s: %v", a.ID, err)
				return nil
			}
		}
		if err := r.to.IAM.CreateAccount(ctx, a); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.fail("account %s: %v", a.ID, err)
			return nil
		}
		r.sum.Accounts.Copied++
	}
	// Entities first, then what refers to them.
	users, err := r.from.IAM.ListUsers(ctx, a.ID, "")
	if err != nil {
		return fmt.Errorf("listing the users of %s: %w", a.ID, err)
	}
	for _, u := range users {
		if err := r.user(ctx, u); err != nil {
			return err
		}
	}
	groups, err := r.from.IAM.ListGroups(ctx, a.ID, "")
	if err != nil {
		return fmt.Errorf("listing the groups of %s: %w", a.ID, err)
	}
	for _, g := range groups {
		if err := r.group(ctx, g); err != nil {
			return err
		}
	}
	roles, err := r.from.IAM.ListRoles(ctx, a.ID, "")
	if err != nil {
		return fmt.Errorf("listing the roles of %s: %w", a.ID, err)
	}
	for _, ro := range roles {
		if err := r.role(ctx, ro); err != nil {
			return err
		}
	}
	policies, err := r.from.IAM.ListPolicies(ctx, a.ID, "", false)
	if err != nil {
		return fmt.Errorf("listing the policies of %s: %w", a.ID, err)
	}
	for _, p := range policies {
		if err := r.policy(ctx, p); err != nil {
			return err
		}
	}
	// Policies of users, groups and roles: inline and attached.
	type entity struct {
		t    iam.EntityType
		name string
	}
	var ents []entity
	for _, u := range users {
		ents = append(ents, entity{iam.EntityUser, u.Name})
	}
	for _, g := range groups {
		ents = append(ents, entity{iam.EntityGroup, g.Name})
	}
	for _, ro := range roles {
		ents = append(ents, entity{iam.EntityRole, ro.Name})
	}
	for _, e := range ents {
		if err := r.entityPolicies(ctx, a.ID, e.t, e.name); err != nil {
			return err
		}
	}
	return nil
}

// itemErr sorts an error of one item's write: a context error stops the
// run, anything else fails the item.
func (r *run) itemErr(err error, format string, args ...any) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	r.fail("%s: %v", fmt.Sprintf(format, args...), err)
	return nil
}

func (r *run) user(ctx context.Context, u iam.User) error {
	got, err := r.to.IAM.GetUserByID(ctx, u.ID)
	found, err := iamExists(err)
	if err != nil {
		return fmt.Errorf("user %s in the target: %w", u.ARN(), err)
	}
	switch {
	case found && (got.AccountID != u.AccountID || got.Name != u.Name):
		r.fail("user %s: the target's user %s has another name or account (%s)", u.ARN(), u.ID, got.ARN())
		return nil
	case found:
		r.sum.Users.Existing++
	default:
		if err := r.to.IAM.CreateUser(ctx, u); err != nil {
			return r.itemErr(err, "user %s", u.ARN())
		}
		r.sum.Users.Copied++
	}
	keys, err := r.from.IAM.ListAccessKeys(ctx, u.AccountID, u.Name)
	if err != nil {
		return fmt.Errorf("listing the access keys of %s: %w", u.ARN(), err)
	}
	for _, k := range keys {
		got, err := r.to.IAM.GetAccessKey(ctx, k.ID)
		found, err := iamExists(err)
		if err != nil {
			return fmt.Errorf("access key %s in the target: %w", k.ID, err)
		}
		if found {
			if got.UserID != k.UserID {
				r.fail("access key %s: the target's belongs to another user (%s)", k.ID, got.UserID)
				continue
			}
			r.sum.AccessKeys.Existing++
			if got.LastUsed.IsZero() && !k.LastUsed.IsZero() { // an earlier run stopped before the touch
				if err := r.to.IAM.TouchAccessKey(ctx, k.ID, k.LastUsed, k.LastService, k.LastRegion); err != nil {
					if err := r.itemErr(err, "access key %s: last use", k.ID); err != nil {
						return err
					}
				}
			}
			continue
		}
		if err := r.checkSecret(k.ID, k.Secret); err != nil {
			r.fail("access key %s of %s: %v", k.ID, u.ARN(), err)
			continue
		}
		if err := r.to.IAM.CreateAccessKey(ctx, u.AccountID, u.Name, k); err != nil {
			if err := r.itemErr(err, "access key %s of %s", k.ID, u.ARN()); err != nil {
				return err
			}
			continue
		}
		r.sum.AccessKeys.Copied++
		if !k.LastUsed.IsZero() {
			if err := r.to.IAM.TouchAccessKey(ctx, k.ID, k.LastUsed, k.LastService, k.LastRegion); err != nil {
				if err := r.itemErr(err, "access key %s: last use", k.ID); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (r *run) group(ctx context.Context, g iam.Group) error {
	got, err := r.to.IAM.GetGroup(ctx, g.AccountID, g.Name)
	found, err := iamExists(err)
	if err != nil {
		return fmt.Errorf("group %s in the target: %w", g.ARN(), err)
	}
	switch {
	case found && got.ID != g.ID:
		r.fail("group %s: the target has another group of that name (id %s, source %s)", g.ARN(), got.ID, g.ID)
		return nil
	case found:
		r.sum.Groups.Existing++
	default:
		if err := r.to.IAM.CreateGroup(ctx, g); err != nil {
			return r.itemErr(err, "group %s", g.ARN())
		}
		r.sum.Groups.Copied++
	}
	members, err := r.from.IAM.ListGroupMembers(ctx, g.AccountID, g.Name)
	if err != nil {
		return fmt.Errorf("listing the members of %s: %w", g.ARN(), err)
	}
	have, err := r.to.IAM.ListGroupMembers(ctx, g.AccountID, g.Name)
	if err != nil {
		return fmt.Errorf("listing the members of %s in the target: %w", g.ARN(), err)
	}
	in := map[string]bool{}
	for _, u := range have {
		in[u.ID] = true
	}
	for _, u := range members {
		if in[u.ID] {
			r.sum.Memberships.Existing++
			continue
		}
		if err := r.to.IAM.AddUserToGroup(ctx, g.AccountID, g.Name, u.Name); err != nil {
			if err := r.itemErr(err, "member %s of group %s", u.Name, g.ARN()); err != nil {
				return err
			}
			continue
		}
		r.sum.Memberships.Copied++
	}
	return nil
}

func (r *run) role(ctx context.Context, ro iam.Role) error {
	got, err := r.to.IAM.GetRoleByID(ctx, ro.ID)
	found, err := iamExists(err)
	if err != nil {
		return fmt.Errorf("role %s in the target: %w", ro.ARN(), err)
	}
	switch {
	case found && (got.AccountID != ro.AccountID || got.Name != ro.Name):
		r.fail("role %s: the target's role %s has another name or account (%s)", ro.ARN(), ro.ID, got.ARN())
	case found:
		r.sum.Roles.Existing++
	default:
		if err := r.to.IAM.CreateRole(ctx, ro); err != nil {
			return r.itemErr(err, "role %s", ro.ARN())
		}
		r.sum.Roles.Copied++
	}
	return nil
}

func (r *run) policy(ctx context.Context, p iam.ManagedPolicy) error {
	arn := p.ARN()
	got, err := r.to.IAM.GetPolicy(ctx, arn)
	found, err := iamExists(err)
	if err != nil {
		return fmt.Errorf("policy %s in the target: %w", arn, err)
	}
	if found {
		if got.ID != p.ID {
			r.fail("policy %s: the target has another policy of that name (id %s, source %s)", arn, got.ID, p.ID)
			return nil
		}
		r.sum.Policies.Existing++
		return nil
	}
	versions, err := r.from.IAM.ListPolicyVersions(ctx, arn)
	if err != nil {
		return fmt.Errorf("listing the versions of %s: %w", arn, err)
	}
	if err := r.to.IAM.ImportPolicy(ctx, p, versions); err != nil {
		return r.itemErr(err, "policy %s", arn)
	}
	r.sum.Policies.Copied++
	return nil
}

func (r *run) entityPolicies(ctx context.Context, account string, t iam.EntityType, name string) error {
	what := fmt.Sprintf("%s %s of account %s", t, name, account)
	attached, err := r.from.IAM.ListAttachedPolicies(ctx, account, t, name)
	if err != nil {
		return fmt.Errorf("listing the policies attached to %s: %w", what, err)
	}
	have, err := r.to.IAM.ListAttachedPolicies(ctx, account, t, name)
	if found, ferr := iamExists(err); ferr != nil {
		return fmt.Errorf("listing the policies attached to %s in the target: %w", what, ferr)
	} else if !found {
		return nil // the entity itself failed; already reported
	}
	in := map[string]bool{}
	for _, p := range have {
		in[p.ARN] = true
	}
	for _, p := range attached {
		if in[p.ARN] {
			r.sum.Attachments.Existing++
			continue
		}
		if err := r.to.IAM.AttachPolicy(ctx, account, t, name, p.ARN); err != nil {
			if err := r.itemErr(err, "attaching %s to %s", p.ARN, what); err != nil {
				return err
			}
			continue
		}
		r.sum.Attachments.Copied++
	}
	names, err := r.from.IAM.ListInlinePolicies(ctx, account, t, name)
	if err != nil {
		return fmt.Errorf("listing the inline policies of %s: %w", what, err)
	}
	for _, pn := range names {
		doc, err := r.from.IAM.GetInlinePolicy(ctx, account, t, name, pn)
		if err != nil {
			return fmt.Errorf("inline policy %s of %s: %w", pn, what, err)
		}
		cur, err := r.to.IAM.GetInlinePolicy(ctx, account, t, name, pn)
		found, err := iamExists(err)
		if err != nil {
			return fmt.Errorf("inline policy %s of %s in the target: %w", pn, what, err)
		}
		if found && cur == doc {
			r.sum.InlinePolicies.Existing++
			continue
		}
		if found {
			r.fail("inline policy %s of %s: the target holds another document", pn, what)
			continue
		}
		if err := r.to.IAM.PutInlinePolicy(ctx, account, t, name, pn, doc, policy.PolicySize([]byte(doc)), iam.InlineLimit(t)); err != nil {
			if err := r.itemErr(err, "inline policy %s of %s", pn, what); err != nil {
				return err
			}
			continue
		}
		r.sum.InlinePolicies.Copied++
	}
	return nil
}

// --- buckets, objects, uploads ----------------------------------------------

func (r *run) buckets(ctx context.Context) error {
	buckets, err := r.from.Meta.ListBuckets(ctx, "")
	if err != nil {
		return fmt.Errorf("listing the source's buckets: %w", err)
	}
	for _, b := range buckets {
		if err := r.bucket(ctx, b.Name); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) bucket(ctx context.Context, name string) error {
	b, err := r.from.Meta.GetBucket(ctx, name)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", name, err)
	}
	got, err := r.to.Meta.GetBucket(ctx, name)
	switch {
	case err == nil && got.Owner != b.Owner:
		r.fail("bucket %s: the target's bucket of that name belongs to account %s, the source's to %s; its objects were not copied", name, got.Owner, b.Owner)
		return nil
	case err == nil:
		r.sum.Buckets.Existing++
		// Configurations: a run stopped between the bucket and a later
		// change cannot happen (CreateBucket stores them), but a target
		// missing one still gets it; one that differs is a conflict.
		for kind, doc := range b.Configs {
			cur, ok := got.Configs[kind]
			switch {
			case ok && string(cur) == string(doc):
				r.sum.BucketConfigs.Existing++
			case ok:
				r.fail("bucket %s: the target's %s configuration differs from the source's", name, kind)
			default:
				if err := r.to.Meta.PutBucketConfig(ctx, name, kind, doc); err != nil {
					if err := r.itemErr(err, "bucket %s: %s configuration", name, kind); err != nil {
						return err
					}
					continue
				}
				r.sum.BucketConfigs.Copied++
			}
		}
	case errors.Is(err, meta.ErrNoSuchBucket):
		if err := r.to.Meta.CreateBucket(ctx, b); err != nil {
			return r.itemErr(err, "bucket %s", name)
		}
		r.sum.Buckets.Copied++
		r.sum.BucketConfigs.Copied += len(b.Configs)
	default:
		return fmt.Errorf("bucket %s in the target: %w", name, err)
	}
	start := r.sum
	r.lastLine = time.Now()
	after := ""
	for {
		page, err := r.from.Meta.ListObjects(ctx, name, meta.ListObjectsOptions{After: after, MaxKeys: r.opt.PageSize})
		if err != nil {
			return fmt.Errorf("listing bucket %s: %w", name, err)
		}
		for _, lo := range page.Objects {
			if err := r.object(ctx, name, lo.Key); err != nil {
				return err
			}
			r.progress(name, start, false)
		}
		if !page.IsTruncated {
			break
		}
		after = page.NextAfter
	}
	if err := r.uploads(ctx, name); err != nil {
		return err
	}
	r.progress(name, start, true)
	return nil
}

// progress prints the bucket's counts every ProgressEvery, and at its end.
func (r *run) progress(bucket string, start Summary, end bool) {
	if !end && time.Since(r.lastLine) < r.opt.ProgressEvery {
		return
	}
	r.lastLine = time.Now()
	o := Count{r.sum.Objects.Copied - start.Objects.Copied, r.sum.Objects.Existing - start.Objects.Existing}
	u := Count{r.sum.Uploads.Copied - start.Uploads.Copied, r.sum.Uploads.Existing - start.Uploads.Existing}
	state := "copying"
	if end {
		state = "done"
	}
	r.printf("bucket %s: %s: %d objects (%d copied, %d already there), %s copied and verified, %d in-progress uploads",
		bucket, state, o.Total(), o.Copied, o.Existing, FormatBytes(r.sum.BytesCopied-start.BytesCopied), u.Total())
}

func (r *run) object(ctx context.Context, bucket, key string) error {
	o, err := r.from.Meta.GetObject(ctx, bucket, key)
	if errors.Is(err, meta.ErrNoSuchKey) {
		return nil // listed, then gone: nothing writes the source, so never
	}
	if err != nil {
		return fmt.Errorf("object %s/%s: %w", bucket, key, err)
	}
	got, err := r.to.Meta.GetObject(ctx, bucket, key)
	switch {
	case err == nil && got.ETag == o.ETag && got.Size == o.Size:
		r.sum.Objects.Existing++
		r.sum.BytesExisting += o.Size
		return nil
	case err == nil:
		r.fail("object %s/%s: the target holds another version (ETag %s, source %s)", bucket, key, got.ETag, o.ETag)
		return nil
	case !errors.Is(err, meta.ErrNoSuchKey):
		return fmt.Errorf("object %s/%s in the target: %w", bucket, key, err)
	}
	what := fmt.Sprintf("object %s/%s", bucket, key)
	var sums [][]byte
	var written []string
	out := o
	out.Segments = nil
	switch {
	case o.Inline != nil || len(o.Segments) == 0:
		if int64(len(o.Inline)) != o.Size {
			r.fail("%s: %d inline bytes, size %d", what, len(o.Inline), o.Size)
			return nil
		}
		s := md5.Sum(o.Inline)
		sums = append(sums, s[:])
	default:
		var total int64
		for i, seg := range o.Segments {
			id, sum, err := r.copyBlob(ctx, seg, fmt.Sprintf("%s, segment %d", what, i+1))
			if err != nil {
				r.to.Blobs.Delete(context.WithoutCancel(ctx), written...)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r.fail("%v", err)
				return nil
			}
			written = append(written, id)
			sums = append(sums, sum)
			seg.BlobID = id
			out.Segments = append(out.Segments, seg)
			total += seg.Size
		}
		if total != o.Size {
			r.to.Blobs.Delete(context.WithoutCancel(ctx), written...)
			r.fail("%s: segments hold %d bytes, size %d", what, total, o.Size)
			return nil
		}
	}
	if err := checkETag(o.ETag, o.PartsCount, sums); err != nil {
		r.to.Blobs.Delete(context.WithoutCancel(ctx), written...)
		r.fail("%s: %v", what, err)
		return nil
	}
	// If-None-Match: never replace what another writer put there meanwhile.
	if _, err := r.to.Meta.PutObject(ctx, out, meta.Condition{IfNoneMatch: "*"}); err != nil {
		r.to.Blobs.Delete(context.WithoutCancel(ctx), written...)
		if errors.Is(err, meta.ErrPreconditionFail) {
			r.fail("%s: written in the target by someone else during the copy", what)
			return nil
		}
		return r.itemErr(err, "%s", what)
	}
	r.sum.Objects.Copied++
	r.sum.BytesCopied += o.Size
	return nil
}

// checkETag checks an object's ETag against the MD5s of its segments: the
// MD5 of its bytes for a single-part object, the MD5 of the parts' MD5s
// and "-N" for a multipart one.
func checkETag(etag string, parts int, sums [][]byte) error {
	var want string
	if parts == 0 {
		if len(sums) != 1 { // Postern never makes these
			return fmt.Errorf("a single-part object with %d segments", len(sums))
		}
		want = hex.EncodeToString(sums[0])
	} else {
		if parts != len(sums) {
			return fmt.Errorf("%d parts but %d segments", parts, len(sums))
		}
		h := md5.New()
		for _, s := range sums {
			h.Write(s)
		}
		want = hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(parts)
	}
	if want != etag {
		return fmt.Errorf("verification failed: the bytes' ETag is %s, the metadata's %s", want, etag)
	}
	return nil
}

// copyBlob copies one segment's blob into the target and verifies it: the
// bytes read from the source must be seg.Size long (and hash to
// seg.PartETag when it is set), and the committed copy, read back from the
// target, must have the same size and MD5. It returns the new blob's id
// and the bytes' MD5.
func (r *run) copyBlob(ctx context.Context, seg meta.Segment, what string) (string, []byte, error) {
	src, err := r.from.Blobs.Open(ctx, seg.BlobID, 0, seg.Size)
	if err != nil {
		return "", nil, fmt.Errorf("%s: reading blob %s: %w", what, seg.BlobID, err)
	}
	defer src.Close()
	w, err := r.to.Blobs.Create(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("%s: creating the target's blob: %w", what, err)
	}
	defer w.Abort()
	h := md5.New()
	n, err := io.Copy(w, io.TeeReader(src, h))
	if err != nil {
		return "", nil, fmt.Errorf("%s: copying blob %s: %w", what, seg.BlobID, err)
	}
	if n != seg.Size {
		return "", nil, fmt.Errorf("%s: verification failed: blob %s holds %d bytes, the metadata says %d", what, seg.BlobID, n, seg.Size)
	}
	sum := h.Sum(nil)
	if seg.PartETag != "" && hex.EncodeToString(sum) != seg.PartETag {
		return "", nil, fmt.Errorf("%s: verification failed: blob %s's MD5 is %x, the part's ETag %s", what, seg.BlobID, sum, seg.PartETag)
	}
	if err := w.Commit(ctx); err != nil {
		return "", nil, fmt.Errorf("%s: committing the target's blob: %w", what, err)
	}
	id := w.ID()
	if err := r.verifyBlob(ctx, id, seg.Size, sum); err != nil {
		r.to.Blobs.Delete(context.WithoutCancel(ctx), id)
		return "", nil, fmt.Errorf("%s: %w", what, err)
	}
	return id, sum, nil
}

// verifyBlob reads a committed target blob back and checks its size and MD5.
func (r *run) verifyBlob(ctx context.Context, id string, size int64, sum []byte) error {
	rc, err := r.to.Blobs.Open(ctx, id, 0, size+1)
	if err != nil {
		return fmt.Errorf("verification failed: reading the copy back: %w", err)
	}
	defer rc.Close()
	h := md5.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return fmt.Errorf("verification failed: reading the copy back: %w", err)
	}
	if n != size || string(h.Sum(nil)) != string(sum) {
		return fmt.Errorf("verification failed: the copy in the target holds %d bytes with MD5 %x, the source %d bytes with MD5 %x", n, h.Sum(nil), size, sum)
	}
	return nil
}

func (r *run) uploads(ctx context.Context, bucket string) error {
	opt := meta.ListUploadsOptions{MaxUploads: r.opt.PageSize}
	for {
		page, err := r.from.Meta.ListUploads(ctx, bucket, opt)
		if err != nil {
			return fmt.Errorf("listing the uploads of %s: %w", bucket, err)
		}
		for _, u := range page.Uploads {
			if err := r.upload(ctx, u); err != nil {
				return err
			}
		}
		if !page.IsTruncated {
			return nil
		}
		opt.KeyMarker, opt.UploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
	}
}

func (r *run) upload(ctx context.Context, u meta.Upload) error {
	what := fmt.Sprintf("upload %s of %s/%s", u.ID, u.Bucket, u.Key)
	if _, err := r.to.Meta.GetUpload(ctx, u.Bucket, u.Key, u.ID); err == nil {
		r.sum.Uploads.Existing++
	} else if errors.Is(err, meta.ErrNoSuchUpload) {
		if err := r.to.Meta.CreateUpload(ctx, u); err != nil {
			return r.itemErr(err, "%s", what)
		}
		r.sum.Uploads.Copied++
	} else {
		return fmt.Errorf("%s in the target: %w", what, err)
	}
	have := map[int]meta.Part{}
	for marker := 0; ; {
		parts, more, err := r.to.Meta.ListParts(ctx, u.Bucket, u.Key, u.ID, marker, r.opt.PageSize)
		if err != nil {
			return fmt.Errorf("listing the parts of %s in the target: %w", what, err)
		}
		for _, p := range parts {
			have[p.Number] = p
			marker = p.Number
		}
		if !more || len(parts) == 0 {
			break
		}
	}
	for marker := 0; ; {
		parts, more, err := r.from.Meta.ListParts(ctx, u.Bucket, u.Key, u.ID, marker, r.opt.PageSize)
		if err != nil {
			return fmt.Errorf("listing the parts of %s: %w", what, err)
		}
		for _, p := range parts {
			marker = p.Number
			if err := r.part(ctx, u, p, have, what); err != nil {
				return err
			}
		}
		if !more || len(parts) == 0 {
			return nil
		}
	}
}

func (r *run) part(ctx context.Context, u meta.Upload, p meta.Part, have map[int]meta.Part, what string) error {
	if cur, ok := have[p.Number]; ok {
		if cur.Segment.PartETag == p.Segment.PartETag && cur.Segment.Size == p.Segment.Size {
			r.sum.Parts.Existing++
			r.sum.BytesExisting += p.Segment.Size
			return nil
		}
		r.fail("%s, part %d: the target holds another part (ETag %s, source %s)", what, p.Number, cur.Segment.PartETag, p.Segment.PartETag)
		return nil
	}
	id, _, err := r.copyBlob(ctx, p.Segment, fmt.Sprintf("%s, part %d", what, p.Number))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.fail("%v", err)
		return nil
	}
	np := p
	np.Segment.BlobID = id
	freed, err := r.to.Meta.PutPart(ctx, u.Bucket, u.Key, u.ID, np)
	if err != nil {
		r.to.Blobs.Delete(context.WithoutCancel(ctx), id)
		return r.itemErr(err, "%s, part %d", what, p.Number)
	}
	r.to.Blobs.Delete(ctx, freed...) // none: the part was missing
	r.sum.Parts.Copied++
	r.sum.BytesCopied += p.Segment.Size
	return nil
}

// --- shares ------------------------------------------------------------------

// shares copies every account's shares, each with all its audit rows, in
// one transaction of the target's (ImportShare): a share is in the target
// whole or not at all, so a run carries on where the last one stopped. A
// share found in the target must equal the source's (uses, revocation and
// audit count included), else it is a conflict. Each copy is read back and
// compared.
func (r *run) shares(ctx context.Context) error {
	if r.from.Shares == nil || r.to.Shares == nil {
		return nil
	}
	exp, ok := r.from.Shares.(share.Importer)
	if !ok {
		return errors.New("the source's share store cannot export audit rows (share.Importer)")
	}
	imp, ok := r.to.Shares.(share.Importer)
	if !ok {
		return errors.New("the target's share store cannot import shares (share.Importer)")
	}
	accounts, err := r.from.IAM.ListAccounts(ctx)
	if err != nil {
		return fmt.Errorf("listing the source's accounts: %w", err)
	}
	for _, a := range accounts {
		f := share.Filter{AccountID: a.ID, Limit: share.MaxList}
		for {
			page, more, err := r.from.Shares.ListShares(ctx, f)
			if err != nil {
				return fmt.Errorf("listing the shares of %s: %w", a.ID, err)
			}
			for _, sh := range page {
				if err := r.share(ctx, exp, imp, sh); err != nil {
					return err
				}
			}
			if !more || len(page) == 0 {
				break
			}
			f.After = page[len(page)-1].ID
		}
	}
	r.printf("shares: %d shares, %d audit rows", r.sum.Shares.Total(), r.sum.ShareAudit.Total())
	return nil
}

func (r *run) share(ctx context.Context, exp, imp share.Importer, sh share.Share) error {
	audit, err := exp.ExportAudit(ctx, sh.ID)
	if err != nil {
		return fmt.Errorf("share %s: reading its audit rows: %w", sh.ID, err)
	}
	got, err := r.to.Shares.GetShare(ctx, sh.ID)
	switch {
	case err == nil:
		if d := shareDiff(got, sh); d != "" {
			r.fail("share %s: the target's differs from the source's (%s)", sh.ID, d)
			return nil
		}
		_, total, err := r.to.Shares.ListAudit(ctx, sh.ID, 1)
		if err != nil {
			return fmt.Errorf("share %s in the target: %w", sh.ID, err)
		}
		if total != int64(len(audit)) {
			r.fail("share %s: the target has %d audit rows, the source %d", sh.ID, total, len(audit))
			return nil
		}
		r.sum.Shares.Existing++
		r.sum.ShareAudit.Existing += len(audit)
		return nil
	case !errors.Is(err, share.ErrNoSuchShare):
		return fmt.Errorf("share %s in the target: %w", sh.ID, err)
	}
	if err := imp.ImportShare(ctx, sh, audit); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.fail("share %s: %v", sh.ID, err)
		return nil
	}
	// Read back: the share as stored and every audit row.
	got, err = r.to.Shares.GetShare(ctx, sh.ID)
	if err != nil {
		return fmt.Errorf("share %s in the target: %w", sh.ID, err)
	}
	back, err := imp.ExportAudit(ctx, sh.ID)
	if err != nil {
		return fmt.Errorf("share %s in the target: %w", sh.ID, err)
	}
	if d := shareDiff(got, sh); d != "" {
		r.fail("share %s: copied, but the target's reads back different (%s)", sh.ID, d)
		return nil
	}
	if d := auditDiff(back, audit); d != "" {
		r.fail("share %s: copied, but its audit rows read back different (%s)", sh.ID, d)
		return nil
	}
	r.sum.Shares.Copied++
	r.sum.ShareAudit.Copied += len(audit)
	return nil
}

// shareDiff names the first field in which a and b differ ("" when none).
func shareDiff(a, b share.Share) string {
	times := []struct {
		name string
		x, y time.Time
	}{{"created", a.CreatedAt, b.CreatedAt}, {"expires", a.Expires, b.Expires}, {"revoked at", a.RevokedAt, b.RevokedAt}, {"last used", a.LastUsed, b.LastUsed}}
	for _, t := range times {
		if !t.x.Equal(t.y) {
			return fmt.Sprintf("%s %v, not %v", t.name, t.x, t.y)
		}
	}
	a.CreatedAt, a.Expires, a.RevokedAt, a.LastUsed = b.CreatedAt, b.Expires, b.RevokedAt, b.LastUsed
	switch {
	case a.Uses != b.Uses:
		return fmt.Sprintf("uses %d, not %d", a.Uses, b.Uses)
	case a.AccessKey != b.AccessKey:
		return fmt.Sprintf("access key %s, not %s", a.AccessKey, b.AccessKey)
	case a != b:
		return "its scope, limits or creator"
	}
	return ""
}

// auditDiff names the first audit row in which a and b differ.
func auditDiff(a, b []share.AuditEntry) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d rows, not %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if !x.Time.Equal(y.Time) {
			return fmt.Sprintf("row %d: time %v, not %v", i, x.Time, y.Time)
		}
		x.Time = y.Time
		if x != y {
			return fmt.Sprintf("row %d (request %s)", i, y.RequestID)
		}
	}
	return ""
}
