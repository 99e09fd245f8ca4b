package blob

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Leases keep in-flight blobs safe from the orphan sweep of every node
// sharing a directory, however long an upload lasts, and let a sweep remove
// the blobs of writers that stopped (a crashed node, a lost client).
//
// The lease of blob ID is the file ROOT/leases/ID; its modification time is
// the writer's last heartbeat, set explicitly (utimensat) from the writer's
// clock. The protocol:
//
//  1. Create makes the lease (O_EXCL) before the blob's file, so a blob
//     file without a lease is never in flight: it is committed (or its
//     writer is gone).
//  2. While bytes arrive, the writer renews the lease (sets its time to
//     now) at most every LeaseTTL/8. Renewing a lease that is no longer at
//     its name fails the write with ErrLeaseLost.
//  3. Commit fsyncs the blob, renews the lease once more — the fence: this
//     succeeds only if no sweeper has claimed it — and then removes it.
//     From then on the blob is an ordinary committed file, kept by the
//     metadata that refers to it (or, until that commits, by Sweep's
//     olderThan, as on a single node).
//  4. A sweep (any node) treats a lease last renewed more than LeaseTTL ago
//     as abandoned. It first claims it by renaming it to
//     ROOT/leases/ID.claimed.RANDOM: rename is atomic, so from that moment
//     the writer can neither renew it nor commit. It then reads the
//     claimed file's time again; if the writer renewed in between, the
//     claim is undone (renamed back) and the blob left alone. Otherwise
//     the blob's file is removed (unless the metadata refers to it: a
//     writer that committed and stopped before removing its lease), then
//     the claim.
//  5. The committed-file pass of a sweep skips every file whose lease
//     exists, whatever its age.
//
// So a blob is deleted by a sweep only when its lease was claimed while
// expired, and a writer commits only if its renewal after fsync found the
// lease unclaimed: the two cannot both happen. Leases are not fsynced: after
// a crash a lost lease belongs to a writer that is gone too. The protocol
// needs a file system with atomic rename and utimensat that later stats on
// other nodes see (CephFS; NFS with close-to-open consistency and attribute
// caching short against LeaseTTL), and node clocks within a small fraction
// of LeaseTTL of each other.

// DefaultLeaseTTL is how long an in-flight blob whose writer has received
// no bytes stays safe from Sweep. An upload that stalls that long on a
// shared directory may be swept (and then fails with ErrLeaseLost); the
// server's body read deadline ends such uploads well before.
const DefaultLeaseTTL = 15 * time.Minute

// claimInfix separates a claimed lease's id from the claimer's random tag.
const claimInfix = ".claimed."

func (s *Dir) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Dir) leaseTTL() time.Duration {
	if s.LeaseTTL > 0 {
		return s.LeaseTTL
	}
	return DefaultLeaseTTL
}

func (s *Dir) leasePath(id string) string {
	return filepath.Join(s.root, leasesDir, id)
}

// lease is a writer's hold on its in-flight blob.
type lease struct {
	s     *Dir
	path  string
	every time.Duration // renew when the last renewal is this old
	at    time.Time     // last renewal, by the Dir's clock
	held  bool
}

// takeLease creates the lease of a new blob.
func (s *Dir) takeLease(id string) (lease, error) {
	path := s.leasePath(id)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return lease{}, fmt.Errorf("blob: create lease: %w", err)
	}
	f.Close()
	l := lease{s: s, path: path, every: s.leaseTTL() / 8, held: true}
	if err := l.renew(); err != nil {
		os.Remove(path)
		return lease{}, err
	}
	return l, nil
}

// beat renews the lease if its last renewal is old enough.
func (l *lease) beat() error {
	if !l.held {
		return nil
	}
	if l.s.now().Sub(l.at) < l.every {
		return nil
	}
	return l.renew()
}

// renew sets the lease's time to now; it fails with ErrLeaseLost once a
// sweeper has claimed the lease.
func (l *lease) renew() error {
	if !l.held {
		return ErrLeaseLost
	}
	now := l.s.now()
	if err := os.Chtimes(l.path, now, now); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			l.held = false
			return ErrLeaseLost
		}
		return fmt.Errorf("blob: renew lease: %w", err)
	}
	l.at = now
	return nil
}

// release gives the lease up (after Commit or Abort).
func (l *lease) release() {
	if l.held {
		os.Remove(l.path)
		l.held = false
	}
}

// Sweep removes unreferenced committed blobs last modified before
// olderThan, and in-flight blobs whose leases expired (see the protocol
// above): at start-up on a directory of its own a node may pass time.Now()
// (nothing is between commit and metadata write); periodically, or on a
// shared directory, a time far enough back that no upload can still be
// between its blob's commit and its metadata's. In-flight blobs of live
// writers are never removed, whatever olderThan says.
func (s *Dir) Sweep(ctx context.Context, olderThan time.Time, referenced Referenced) (removed int, err error) {
	removed, err = s.sweepLeases(ctx, referenced)
	if err != nil {
		return removed, err
	}
	n, err := s.sweepFiles(ctx, olderThan, referenced)
	return removed + n, err
}

// sweepBatch is how many ids one call of referenced is given.
const sweepBatch = 500

// sweepLeases removes the blobs of expired leases.
func (s *Dir) sweepLeases(ctx context.Context, referenced Referenced) (removed int, err error) {
	dir := filepath.Join(s.root, leasesDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("blob: read leases: %w", err)
	}
	cutoff := s.now().Add(-s.leaseTTL())
	if s.Exclusive && s.opened.After(cutoff) {
		cutoff = s.opened // older leases are a previous run's
	}
	type claimed struct{ id, path string }
	var claims []claimed
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		name := e.Name()
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue // gone meanwhile, or live
		}
		if id, _, ok := strings.Cut(name, claimInfix); ok && ValidID(id) {
			// An expired claim a sweeper left (it stopped midway, or is
			// at work now): the lease can no longer be renewed either way.
			claims = append(claims, claimed{id, filepath.Join(dir, name)})
			continue
		}
		if !ValidID(name) {
			continue
		}
		path := filepath.Join(dir, name)
		claim := path + claimInfix + NewID()[:8]
		if err := os.Rename(path, claim); err != nil {
			continue // released (committed, aborted) or claimed by another sweeper
		}
		info, err = os.Stat(claim)
		if err != nil {
			continue // another sweeper took our claim as a leftover: it goes on
		}
		if !info.ModTime().Before(cutoff) {
			// Renewed between the listing and the claim: undo it. (Should
			// the writer have tried to renew in that instant, it failed
			// with ErrLeaseLost and removes its blob itself.)
			if os.Rename(claim, path) != nil {
				os.Remove(claim)
			}
			continue
		}
		claims = append(claims, claimed{name, claim})
	}
	for len(claims) > 0 {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		chunk := claims[:min(sweepBatch, len(claims))]
		claims = claims[len(chunk):]
		ids := make([]string, len(chunk))
		for i, c := range chunk {
			ids[i] = c.id
		}
		refs, err := referenced(ctx, ids)
		if err != nil {
			return removed, err
		}
		for _, c := range chunk {
			if !refs[c.id] {
				if os.Remove(s.path(c.id)) == nil {
					removed++
				}
			}
			os.Remove(c.path)
		}
	}
	return removed, nil
}

// sweepFiles removes unreferenced committed blobs older than olderThan.
func (s *Dir) sweepFiles(ctx context.Context, olderThan time.Time, referenced Referenced) (removed int, err error) {
	fanouts, err := os.ReadDir(s.root)
	if err != nil {
		return removed, fmt.Errorf("blob: read blobs: %w", err)
	}
	for _, fo := range fanouts {
		if !fo.IsDir() || len(fo.Name()) != 2 {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(s.root, fo.Name()))
		if err != nil {
			return removed, fmt.Errorf("blob: read dir: %w", err)
		}
		var ids []string
		for _, e := range entries {
			name := e.Name()
			if !ValidID(name) || !strings.HasPrefix(name, fo.Name()) {
				continue
			}
			if info, err := e.Info(); err == nil && info.ModTime().Before(olderThan) {
				ids = append(ids, name)
			}
		}
		for len(ids) > 0 {
			if err := ctx.Err(); err != nil {
				return removed, err
			}
			chunk := ids[:min(sweepBatch, len(ids))]
			ids = ids[len(chunk):]
			refs, err := referenced(ctx, chunk)
			if err != nil {
				return removed, err
			}
			for _, id := range chunk {
				if refs[id] {
					continue
				}
				// A lease, live or not, means in flight: the lease pass
				// decides. (Leases are made before files, so a file
				// listed above whose lease is missing now was committed
				// or aborted.)
				if _, err := os.Lstat(s.leasePath(id)); err == nil {
					continue
				}
				if os.Remove(s.path(id)) == nil {
					removed++
				}
			}
		}
	}
	return removed, nil
}
