package postgres

import "context"

// Ping checks that the database answers (a round trip on a pooled
// connection, made if need be), for readiness checks. Its error wraps
// meta.ErrUnavailable when the database is out of reach.
func (s *Store) Ping(ctx context.Context) error {
	return classify(s.pool.Ping(ctx))
}
