package s3api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/s3err"
	"github.com/postern/postern/share"
)

// Requests made with a share link's access key (docs/api.md, "Requests
// made with a share"): the credential lookup (iam) refuses shares that are
// not active; authorizeVersion adds the share's scope and upload limits to
// the normal decision and claims a use of a limited share; finish gives an
// unused claim back and audits the request.

// reqContext is a request's context: context.WithoutCancel of the
// connection's, which also leads from the context the credential lookup is
// given back to the request (shareSlot), without an allocation of its own.
type reqContext struct {
	context.Context
	req *request
}

type shareSlotKey struct{}

func (c *reqContext) Value(k any) any {
	if k == (shareSlotKey{}) {
		return c.req
	}
	return c.Context.Value(k)
}

// requestOf returns the request whose context ctx is (or derives from).
func requestOf(ctx context.Context) *request {
	req, _ := ctx.Value(shareSlotKey{}).(*request)
	return req
}

// noteShare remembers the share a lookup recognised, so that the request
// is audited even when it is refused, and maps the share's refusals.
func noteShare(req *request, p *iam.Principal, err error) {
	if req == nil {
		return
	}
	var se *iam.ShareError
	switch {
	case err == nil && p != nil && p.Share != nil:
		req.share = p.Share
	case errors.As(err, &se):
		sh := se.Share
		req.share = &sh
	}
}

// shareDenied is the 403 of a share that may not be used (any more).
func shareDenied(err error) *s3err.Error {
	e := s3err.AccessDenied()
	if m := share.Message(err); m != "" {
		e.Message = m
	}
	e.Err = err
	return e
}

// shareExpired rewords the verifier's "Request has expired" for a
// presigned URL signed with a share's key.
func shareExpired(r *http.Request, err error) error {
	var e *s3err.Error
	if !errors.As(err, &e) || e.Code != "AccessDenied" || e.Message != "Request has expired" {
		return err
	}
	cred := r.URL.Query().Get("X-Amz-Credential")
	ak, _, _ := strings.Cut(cred, "/")
	if !share.IsShareKey(ak) {
		return err
	}
	out := *e
	out.Message = share.Message(share.ErrExpired)
	return &out
}

// useShare finishes the authorization of a request made with a share's
// key, once its scope and its creator's permissions allowed it: the
// share's upload limits, and, for a counted request of a limited share, a
// use claimed in the store (exact across nodes).
func (h *Handler) useShare(req *request, sh *share.Share) error {
	r := req.r
	if sh.Method == share.MethodPut || sh.Method == share.MethodPost {
		if err := checkShareUpload(req, sh); err != nil {
			return err
		}
	}
	if req.shareChecked {
		return nil
	}
	req.shareChecked = true
	req.shareCounted = share.Counted(r.Method, r.Header.Get("Range"))
	if !req.shareCounted || sh.MaxUses <= 0 || h.opts.Shares == nil {
		return nil
	}
	got, err := h.opts.Shares.ClaimUse(r.Context(), sh.ID, h.now())
	if err != nil {
		if share.Message(err) != "" {
			return shareDenied(err)
		}
		return err
	}
	req.shareClaimed = true
	req.shareUsedUp = got.MaxUses > 0 && got.Uses >= got.MaxUses
	claimed := got
	req.share = &claimed
	return nil
}

// checkShareUpload enforces an upload share's size and content type
// before any byte of the body is read.
func checkShareUpload(req *request, sh *share.Share) error {
	r := req.r
	if sh.MaxSize > 0 && !req.form {
		size := r.ContentLength
		if v := r.Header.Get("X-Amz-Decoded-Content-Length"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return s3err.InvalidArgument("x-amz-decoded-content-length is not a valid length")
			}
			size = n
		}
		if size < 0 {
			return s3err.MissingContentLength()
		}
		if size > sh.MaxSize {
			e := s3err.EntityTooLarge()
			e.Message = "Your proposed upload exceeds the maximum size this share link allows."
			e.Extra = append(e.Extra, kv("ProposedSize", itoa(size)), kv("MaxSizeAllowed", itoa(sh.MaxSize)))
			return e
		}
	}
	if sh.ContentType != "" {
		ct := r.Header.Get("Content-Type")
		if req.form {
			ct = req.formContentType
		}
		if !strings.EqualFold(strings.TrimSpace(ct), sh.ContentType) {
			e := s3err.AccessDenied()
			e.Message = "This share link only takes uploads with Content-Type " + sh.ContentType + "."
			return e
		}
	}
	return nil
}

// finishShare gives back the use of a request that did not succeed and
// audits the request.
func (h *Handler) finishShare(req *request, status int, now time.Time) {
	sh := req.share
	ok := status >= 200 && status < 300
	if req.shareClaimed && !ok && h.opts.Shares != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := h.opts.Shares.ReleaseUse(ctx, sh.ID); err != nil {
			h.log.Warn("share: giving back an unused use failed", "request_id", req.id, "share", sh.ID, "err", err)
		}
		cancel()
	}
	rec := h.opts.ShareAudit
	if rec == nil {
		return
	}
	r := req.r
	e := share.AuditEntry{
		ShareID:   sh.ID,
		Time:      now.UTC(),
		UserAgent: truncateUTF8(r.Header.Get("User-Agent"), 512),
		Method:    r.Method,
		Status:    status,
		Range:     truncateUTF8(r.Header.Get("Range"), 512),
		RequestID: req.id,
		Counted:   req.shareCounted && ok,
	}
	if src, found := h.opts.Network.SourceAddr(r); found {
		e.Source = src.String()
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		e.Bytes = req.w.written
	} else {
		e.Bytes = req.bytesIn
	}
	rec.Record(e)
	if e.Counted {
		rec.Emit(share.Event{Kind: share.EventUse, Time: e.Time, Share: *sh, Entry: &e})
		if req.shareUsedUp {
			rec.Emit(share.Event{Kind: share.EventUsedUp, Time: e.Time, Share: *sh})
		}
	}
}

// shareCondition adds to a write's precondition what an upload share
// requires: without Overwrite, the key must not exist (If-None-Match "*",
// checked in the write's own transaction: 412 PreconditionFailed).
func shareCondition(req *request, c meta.Condition) meta.Condition {
	if sh := req.principal.Share; sh != nil && !sh.Overwrite {
		c.IfNoneMatch = "*"
	}
	return c
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
