package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The debug listener serves the profile index and the execution trace.
func TestDebugMuxServesProfilesAndTrace(t *testing.T) {
	mux := debugMux()
	for path, want := range map[string]int{
		"/debug/pprof/":                  http.StatusOK,
		"/debug/pprof/goroutine?debug=1": http.StatusOK,
		"/debug/pprof/trace?seconds=1":   http.StatusOK,
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("GET %s: status %d, want %d", path, rec.Code, want)
		}
	}
}
