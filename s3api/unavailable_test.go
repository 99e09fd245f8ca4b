package s3api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/postern/postern/meta"
)

// An unreachable metadata store is ServiceUnavailable (503, known: not
// logged as an internal error), wherever it is wrapped.
func TestToErrorUnavailable(t *testing.T) {
	wrapped := fmt.Errorf("lookup: %w", fmt.Errorf("%w: connection refused", meta.ErrUnavailable))
	e, known := toError(wrapped)
	if !known || e.Status != http.StatusServiceUnavailable || e.Code != "ServiceUnavailable" {
		t.Fatalf("toError(%v) = %d %s known=%v, want 503 ServiceUnavailable known", wrapped, e.Status, e.Code, known)
	}
	if e, known := toError(errors.New("other")); known || e.Status != http.StatusInternalServerError {
		t.Fatalf("an unknown error: %d known=%v, want 500 unknown", e.Status, known)
	}
}
