package main

import (
	"testing"
	"time"
)

func TestParseExpiresIn(t *testing.T) {
	ok := map[string]time.Duration{"1": time.Second, "3600": time.Hour, "90m": 90 * time.Minute, "7d": 7 * 24 * time.Hour, "604800": 7 * 24 * time.Hour}
	for in, want := range ok {
		if got, err := parseExpiresIn(in); err != nil || got != want {
			t.Errorf("parseExpiresIn(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"0", "604801", "8d", "-5", "1.5s", "soon", ""} {
		if _, err := parseExpiresIn(bad); err == nil {
			t.Errorf("parseExpiresIn(%q) accepted", bad)
		}
	}
}
