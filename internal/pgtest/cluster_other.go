//go:build !linux

package pgtest

import (
	"errors"
	"net/url"
)

type cluster struct{ url *url.URL }

func startCluster() (*cluster, error) {
	return nil, errors.New("the throw-away PostgreSQL needs Linux: set " + EnvVar + " to a postgres:// URL (or to skip)")
}

func (c *cluster) stop() error    { return nil }
func (c *cluster) halt() error    { return nil }
func (c *cluster) restart() error { return errors.New("the throw-away PostgreSQL needs Linux") }
func (c *cluster) pause() error   { return errors.New("the throw-away PostgreSQL needs Linux") }
func (c *cluster) resume() error  { return errors.New("the throw-away PostgreSQL needs Linux") }
