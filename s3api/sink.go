package s3api

import (
	"context"
	"io"

	"github.com/postern/postern/blob"
	"github.com/postern/postern/meta"
)

// InlineMax is the size up to which an object's bytes are kept in its
// metadata row instead of a file of its own (see meta.Object.Inline).
const InlineMax = 64 << 10

// sink receives an object's bytes: in memory while they fit inlineLimit,
// else in a new blob. Finish makes them durable; Abort throws them away.
type sink struct {
	ctx   context.Context
	blobs blob.Backend
	limit int
	buf   []byte
	w     blob.Writer
}

// newSink prepares for an object of the expected size (-1 if unknown).
// Known sizes above the inline limit go straight to a blob.
func (h *Handler) newSink(ctx context.Context, expected int64, inline bool) (*sink, error) {
	if err := h.admitUpload(expected); err != nil {
		return nil, err
	}
	s := &sink{ctx: ctx, blobs: h.deps.Blobs}
	if inline {
		s.limit = InlineMax
	}
	if expected > int64(s.limit) || !inline {
		w, err := h.deps.Blobs.Create(ctx)
		if err != nil {
			return nil, err
		}
		s.w = w
	} else if expected > 0 {
		s.buf = make([]byte, 0, expected)
	}
	return s, nil
}

func (s *sink) Write(p []byte) (int, error) {
	if s.w == nil {
		if len(s.buf)+len(p) <= s.limit {
			s.buf = append(s.buf, p...)
			return len(p), nil
		}
		w, err := s.blobs.Create(s.ctx)
		if err != nil {
			return 0, err
		}
		s.w = w
		if _, err := w.Write(s.buf); err != nil {
			return 0, err
		}
		s.buf = nil
	}
	return s.w.Write(p)
}

// ReadFrom avoids a bounce buffer when the bytes go to a blob.
func (s *sink) ReadFrom(r io.Reader) (int64, error) {
	if s.w != nil {
		return s.w.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{s}, r)
}

// Finish makes the bytes durable and describes where they are: inline bytes
// or one segment. A zero-byte object has neither.
func (s *sink) Finish(size int64) (inline []byte, segs []meta.Segment, err error) {
	if s.w == nil {
		if size == 0 {
			return nil, nil, nil
		}
		return s.buf, nil, nil
	}
	if err := s.w.Commit(s.ctx); err != nil {
		return nil, nil, err
	}
	return nil, []meta.Segment{{BlobID: s.w.ID(), Size: size}}, nil
}

// BlobID is the blob written, if any ("" for inline data).
func (s *sink) BlobID() string {
	if s.w == nil {
		return ""
	}
	return s.w.ID()
}

// Abort discards uncommitted bytes.
func (s *sink) Abort() {
	if s.w != nil {
		s.w.Abort()
	}
}
