package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/postern/postern/meta"
)

// Unavailable reports whether err means that the database could not be
// reached or answered in time, rather than that it refused the request:
// the same request may succeed later, unchanged. That is: a connection
// that could not be made (refused, no route, the server starting up or
// shutting down, too many connections), a connection lost or reset in
// the middle, the server ending the session (admin or crash shutdown,
// SQLSTATE class 08 and 57P0x), a statement cancelled by a timeout, and
// one of this package's bounds running out (Options.OpTimeout,
// Options.ConnectTimeout). A client that went away (its context
// cancelled) is not unavailability.
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, meta.ErrUnavailable) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"): // connection exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		case pe.Code == "53300": // too_many_connections
			return true
		case pe.Code == "57014": // query_canceled (statement_timeout)
			return true
		}
		return false // the server answered: a real error
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne):
		return true
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return true
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	// pgconn reports a closed connection with an unexported error type.
	return strings.Contains(err.Error(), "conn closed")
}

// classify returns err wrapping meta.ErrUnavailable when Unavailable(err)
// (so that the front ends answer 503 ServiceUnavailable), else err as it
// is. Every Store method passes its error through it.
func classify(err error) error {
	if err == nil || errors.Is(err, meta.ErrUnavailable) || !Unavailable(err) {
		return err
	}
	return &unavailableError{err: err}
}

// unavailableError is an error of the database's that means it is out of
// reach: errors.Is(err, meta.ErrUnavailable) holds, and the cause is kept.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string {
	return fmt.Sprintf("%v: %v", meta.ErrUnavailable, e.err)
}

func (e *unavailableError) Unwrap() []error { return []error{meta.ErrUnavailable, e.err} }
