package iam_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta/sqlite"
)

// A store first opened with one server key refuses a Service given
// another: Init fails with ErrServerKeyMismatch, naming the cause; the
// same key passes again (SQLite here, PostgreSQL in meta/postgres).
func TestInitRefusesAnotherServerKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	start := func(key byte) error {
		st, err := sqlite.Open(ctx, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		k := bytes.Repeat([]byte{key}, iam.ServerKeySize)
		svc, err := iam.NewService(iam.Config{Store: st, ServerKey: k, DefaultAccount: acct})
		if err != nil {
			t.Fatal(err)
		}
		return svc.Init(ctx)
	}
	if err := start(1); err != nil {
		t.Fatalf("first start: %v", err)
	}
	if err := start(1); err != nil {
		t.Fatalf("same key again: %v", err)
	}
	err := start(2)
	if !errors.Is(err, iam.ErrServerKeyMismatch) {
		t.Fatalf("another key: %v, want ErrServerKeyMismatch", err)
	}
	if !strings.Contains(err.Error(), "sealed with another server key; give every node the same --server-key") {
		t.Fatalf("message %q does not name the cause", err)
	}
}
