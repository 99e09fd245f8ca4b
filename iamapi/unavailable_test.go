package iamapi

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/postern/postern/meta"
)

// An unreachable metadata store, however deeply wrapped (a credential
// lookup, a store call), is a 503 the SDKs retry, never a 500.
func TestUnavailableIs503(t *testing.T) {
	c := &call{}
	for _, err := range []error{
		meta.ErrUnavailable,
		fmt.Errorf("get access key: %w", fmt.Errorf("%w: dial tcp: connection refused", meta.ErrUnavailable)),
	} {
		e := c.apiError(err)
		if e.Status != http.StatusServiceUnavailable || e.Code != "ServiceUnavailable" {
			t.Errorf("apiError(%v) = %d %s, want 503 ServiceUnavailable", err, e.Status, e.Code)
		}
	}
	if e := c.apiError(errors.New("disk on fire")); e.Status != http.StatusInternalServerError {
		t.Errorf("an unknown error: %d %s, want 500", e.Status, e.Code)
	}
}
