package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/postern/postern/proto/sigv4"
	"github.com/postern/postern/share"
)

// ShareError is the refusal of a request made with a share's access key
// that the store knows: the share is revoked, expired or used up, or its
// creator is gone (Err is share.ErrRevoked, share.ErrExpired,
// share.ErrUsedUp or share.ErrCreatorGone). The front end answers 403
// AccessDenied with share.Message(Err), and audits the request against
// Share.
type ShareError struct {
	Share share.Share
	Err   error
}

func (e *ShareError) Error() string { return "iam: share " + e.Share.ID + ": " + e.Err.Error() }
func (e *ShareError) Unwrap() error { return e.Err }

// Shares returns the share store (nil when none was configured).
func (s *Service) Shares() share.Store { return s.shares }

// shareCredentials is Credentials for a share's access key: the share is
// read from the store on every request (nothing is cached here, so a
// revocation holds on the next request on every node; the SQLite store
// answers from a cache that its own writes keep exact, as its database's
// only writer), must be active, and its creator must
// still exist; the principal is the creator as it is now, with Share set.
// The secret is derived from the server key, never stored.
func (s *Service) shareCredentials(ctx context.Context, accessKey string) (string, *Principal, error) {
	if s.shares == nil {
		return "", nil, ErrUnknownKey
	}
	sh, err := s.shares.ShareByAccessKey(ctx, accessKey)
	if errors.Is(err, share.ErrNoSuchShare) {
		return "", nil, ErrUnknownKey
	}
	if err != nil {
		return "", nil, err
	}
	if err := share.StateError(sh.State(s.now())); err != nil {
		return "", nil, &ShareError{Share: sh, Err: err}
	}
	var p *Principal
	switch sh.Creator.Kind {
	case string(KindRoot):
		if sh.AccountID != s.account {
			if _, err := s.store.GetAccount(ctx, sh.AccountID); errors.Is(err, ErrNoSuchEntity) {
				return "", nil, &ShareError{Share: sh, Err: share.ErrCreatorGone}
			} else if err != nil {
				return "", nil, err
			}
		}
		p = s.rootPrincipal(sh.AccountID, accessKey)
	case string(KindUser):
		u, err := s.store.GetUserByID(ctx, sh.Creator.UserID)
		if errors.Is(err, ErrNoSuchEntity) {
			return "", nil, &ShareError{Share: sh, Err: share.ErrCreatorGone}
		}
		if err != nil {
			return "", nil, err
		}
		if u.AccountID != sh.AccountID {
			return "", nil, &ShareError{Share: sh, Err: share.ErrCreatorGone}
		}
		p = &Principal{
			Kind:         KindUser,
			AccountID:    u.AccountID,
			ARN:          u.ARN(),
			UserID:       u.ID,
			Name:         u.Name,
			AccessKey:    accessKey,
			parentUserID: u.ID,
		}
	default:
		return "", nil, &ShareError{Share: sh, Err: share.ErrCreatorGone}
	}
	p.Share = &sh
	return s.keys.shareSecret(accessKey), p, nil
}

// SignedShare is what a share's link is: a URL, and for a POST share the
// form fields to post to it (the file last).
type SignedShare struct {
	URL    string
	Fields map[string]string
}

// maxUploadSize bounds a POST share's content-length-range when the share
// sets no MaxSize: S3's own limit for one PUT, 5 GiB.
const maxUploadSize = 5 << 30

// SignShare signs sh's link with its derived secret for region, as of
// sh.CreatedAt for sh.Expires-sh.CreatedAt: the same share always signs
// to the same link, so it can be shown again. GET and PUT shares are
// presigned URLs of their object (path style, at sh.Endpoint); a POST
// share is a browser form for sh.Endpoint/BUCKET whose key must start
// with sh.Key (the form's key is sh.Key + "${filename}"), limited to
// sh.MaxSize bytes, with a Content-Type field holding sh.ContentType that
// the policy lets the browser change (the request path checks the share's
// ContentType and answers which one it takes).
func (s *Service) SignShare(sh *share.Share, region string) (SignedShare, error) {
	if !share.IsShareKey(sh.AccessKey) {
		return SignedShare{}, fmt.Errorf("iam: %q is not a share's access key", sh.AccessKey)
	}
	creds := sigv4.Credentials{AccessKey: sh.AccessKey, SecretKey: s.keys.shareSecret(sh.AccessKey)}
	expires := sh.Expires.Sub(sh.CreatedAt).Truncate(time.Second)
	base := strings.TrimRight(sh.Endpoint, "/") + "/" + sigv4.EncodePath(sh.Bucket)
	switch sh.Method {
	case share.MethodGet, share.MethodPut:
		u, err := sigv4.Presign(creds, sigv4.PresignOptions{
			Method: sh.Method, URL: base + "/" + sigv4.EncodePath(sh.Key),
			Region: region, SignAt: sh.CreatedAt, Expires: expires,
		})
		if err != nil {
			return SignedShare{}, err
		}
		return SignedShare{URL: u}, nil
	case share.MethodPost:
		hi := sh.MaxSize
		if hi <= 0 {
			hi = maxUploadSize
		}
		fields, err := sigv4.PresignPOST(creds, sigv4.PostOptions{
			Bucket: sh.Bucket, Key: sh.Key + "${filename}", Region: region,
			SignAt: sh.CreatedAt, Expires: expires,
			Conditions: []any{
				[]any{"content-length-range", 0, hi},
				[]any{"starts-with", "$Content-Type", ""},
			},
		})
		if err != nil {
			return SignedShare{}, err
		}
		// The policy takes any Content-Type but needs the field (S3 fails
		// a condition on a missing field); it holds the share's type.
		fields["Content-Type"] = sh.ContentType
		return SignedShare{URL: base, Fields: fields}, nil
	}
	return SignedShare{}, fmt.Errorf("iam: share method %q", sh.Method)
}
