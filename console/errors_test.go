package console

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The console API's error body is the JSON console.js reads, whatever the
// error type behind it: status, code, message, and operation and resource
// only when known, in that order.
func TestErrorJSON(t *testing.T) {
	upstream := func(status int, body string) *upstreamResponse {
		r := &upstreamResponse{header: http.Header{}, status: status}
		r.body.WriteString(body)
		return r
	}
	for _, tc := range []struct {
		name string
		err  error
		code int
		want string
	}{
		{"S3 error with a resource", parseUpstreamError("GetObject", upstream(404,
			`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Resource>/b/k</Resource></Error>`)),
			404, `{"error":{"status":404,"code":"NoSuchKey","message":"The specified key does not exist.","operation":"GetObject","resource":"/b/k"}}`},
		{"IAM error", parseUpstreamError("CreateUser", upstream(409,
			`<ErrorResponse><Error><Type>Sender</Type><Code>EntityAlreadyExists</Code><Message>User with name u already exists.</Message></Error></ErrorResponse>`)),
			409, `{"error":{"status":409,"code":"EntityAlreadyExists","message":"User with name u already exists.","operation":"CreateUser"}}`},
		{"no error document", parseUpstreamError("HeadObject", upstream(503, "")),
			503, `{"error":{"status":503,"code":"ServiceUnavailable","message":"The request failed with HTTP status 503.","operation":"HeadObject"}}`},
		{"the console's own", badRequest("Bucket names are 3 to 63 characters."),
			400, `{"error":{"status":400,"code":"InvalidInput","message":"Bucket names are 3 to 63 characters."}}`},
		{"any other error", errors.New("boom"),
			500, `{"error":{"status":500,"code":"InternalError","message":"boom"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			writeJSONError(w, tc.err)
			if w.Code != tc.code || strings.TrimSpace(w.Body.String()) != tc.want {
				t.Errorf("got %d %s\nwant %d %s", w.Code, w.Body, tc.code, tc.want)
			}
		})
	}
}
