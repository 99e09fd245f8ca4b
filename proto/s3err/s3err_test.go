package s3err

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestError(t *testing.T) {
	e := New(403, "SignatureDoesNotMatch", "bad signature", KV{"StringToSign", "x"}, KV{"SignatureProvided", "y"})
	if e.Error() != "SignatureDoesNotMatch: bad signature" {
		t.Errorf("Error() = %q", e.Error())
	}
	if e.Get("SignatureProvided") != "y" || e.Get("Missing") != "" {
		t.Errorf("Get: %q %q", e.Get("SignatureProvided"), e.Get("Missing"))
	}
	// Matched by code, wrapped or not, whatever the message.
	wrapped := fmt.Errorf("verifying: %w", e)
	if !errors.Is(wrapped, New(400, "SignatureDoesNotMatch", "other")) || errors.Is(wrapped, AccessDenied()) {
		t.Error("Is does not match by code")
	}
	var got *Error
	if !errors.As(wrapped, &got) || got != e {
		t.Error("As does not find the error")
	}
	// The cause is reachable and logged, not part of Message.
	c := &Error{Code: "IncompleteBody", Message: "m", Status: 400, Err: io.ErrUnexpectedEOF}
	if !errors.Is(c, io.ErrUnexpectedEOF) || c.Error() != "IncompleteBody: m (unexpected EOF)" {
		t.Errorf("cause: %v", c)
	}
}

// Each constructor returns a fresh value, so a caller may add elements
// without touching anyone else's error.
func TestCatalogueFresh(t *testing.T) {
	a, b := AccessDenied(), AccessDenied()
	a.Extra = append(a.Extra, KV{"k", "v"})
	if a == b || len(b.Extra) != 0 || b.Status != 403 || b.Message != "Access Denied" {
		t.Errorf("AccessDenied() shares state: %+v", b)
	}
}
