package testserver

import (
	"net/http"
	"strings"
	"testing"
)

// An in-process server answers on its URL, restarts on the same address and
// data folder (stopping releases the folder's lock, or Build would refuse
// it), logs into Logs, and no longer answers once stopped.
func TestInProcessRestart(t *testing.T) {
	s := InProcess(t, Options{})
	ready := func() int {
		resp, err := s.HTTPClient().Get(s.URL + "/health/ready")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := ready(); got != http.StatusOK {
		t.Fatalf("/health/ready: %d", got)
	}
	url := s.URL
	s.Restart()
	if s.URL != url {
		t.Errorf("URL after Restart: %s, want %s", s.URL, url)
	}
	if got := ready(); got != http.StatusOK {
		t.Fatalf("/health/ready after Restart: %d", got)
	}
	if n := strings.Count(s.Logs(), "postern listening"); n != 2 {
		t.Errorf("%d listening notices in the log, want 2:\n%s", n, s.Logs())
	}
	if err := s.Stop(0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HTTPClient().Get(s.URL + "/health/live"); err == nil {
		t.Error("server still answers after Stop")
	}
}
