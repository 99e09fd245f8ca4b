package shareapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/s3err"
)

// apiError is an error answer: S3's codes and statuses, in JSON.
type apiError struct {
	Status  int
	Code    string
	Message string
	Header  http.Header
}

func (e *apiError) Error() string { return "shareapi: " + e.Code + ": " + e.Message }

func apiErr(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

func noSuchShare() *apiError {
	return apiErr(http.StatusNotFound, "NoSuchShare", "The specified share does not exist.")
}

func methodNotAllowed(allow string) *apiError {
	e := apiErr(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	e.Header = http.Header{"Allow": {allow}}
	return e
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// fail writes err as the JSON error answer: the API's own errors and the
// S3 errors of the signature verifier as they are, an unreachable store
// 503, anything else 500 InternalError (logged).
func (h *Handler) fail(c *call, err error) {
	e := h.toError(c, err)
	var body errorBody
	body.Error.Code, body.Error.Message = e.Code, e.Message
	hd := c.w.Header()
	for k, v := range e.Header {
		hd[k] = v
	}
	b, _ := json.Marshal(body)
	hd.Set("Content-Type", "application/json")
	c.w.WriteHeader(e.Status)
	c.w.Write(append(b, '\n'))
}

func (h *Handler) toError(c *call, err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var se *s3err.Error
	if errors.As(err, &se) {
		if se.Status >= 500 {
			h.log.Error("share api: request failed", "request_id", c.id, "err", err)
		}
		return &apiError{Status: se.Status, Code: se.Code, Message: se.Message}
	}
	if errors.Is(err, meta.ErrUnavailable) || (h.cfg.Unavailable != nil && h.cfg.Unavailable(err)) {
		return apiErr(http.StatusServiceUnavailable, "ServiceUnavailable", "The metadata store cannot be reached; try again.")
	}
	h.log.Error("share api: request failed", "request_id", c.id, "err", err)
	return apiErr(http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
}
