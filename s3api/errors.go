package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"syscall"

	"github.com/postern/postern/blob"
	"github.com/postern/postern/diskspace"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/s3err"
)

// errorBody is the XML shape of an S3 error.
type errorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Extra     []extraElem
	Resource  string `xml:"Resource,omitempty"`
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
}

type extraElem struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// toError maps any error to an S3 error. Every failure a handler or a codec
// returns is an *s3err.Error but for the stores' own ones: a full disk
// becomes InsufficientStorage, a store that does not answer
// (blob.ErrUnavailable; meta.ErrUnavailable, from a handler or from a
// credential lookup) ServiceUnavailable, anything else InternalError, which
// the caller logs.
func toError(err error) (*s3err.Error, bool) {
	var e *s3err.Error
	if errors.As(err, &e) {
		return e, true
	}
	if diskFull(err) {
		return s3err.InsufficientStorage(), true
	}
	if errors.Is(err, blob.ErrUnavailable) {
		return s3err.ServiceUnavailable("blob store"), false // logged: the operator must know
	}
	if errors.Is(err, meta.ErrUnavailable) {
		return s3err.ServiceUnavailable("metadata store"), true
	}
	return s3err.InternalError(), false
}

// toError is toError with the store's classification of unavailability
// (Options.Unavailable) for the errors it does not know.
func (h *Handler) toError(err error) (*s3err.Error, bool) {
	e, known := toError(err)
	if !known && h.opts.Unavailable != nil && h.opts.Unavailable(err) {
		return s3err.ServiceUnavailable("metadata store"), true
	}
	return e, known
}

// diskFull reports whether err is a write that failed, or was refused, for
// lack of disk space.
func diskFull(err error) bool {
	return errors.Is(err, diskspace.ErrFull) || errors.Is(err, syscall.ENOSPC)
}

// writeError writes e as S3 error XML for resource (the <Resource> element),
// the single place where errors become HTTP. HEAD responses carry no body.
func writeError(w http.ResponseWriter, r *http.Request, requestID, resource string, e *s3err.Error) {
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	h.Set("Content-Type", "application/xml")
	h.Del("Content-Length")
	h.Del("ETag")
	h.Del("Last-Modified")
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	body := errorBody{Code: e.Code, Message: e.Message, Resource: resource, RequestID: requestID, HostID: requestID}
	for _, kv := range e.Extra {
		if validXMLName(kv.Key) {
			body.Extra = append(body.Extra, extraElem{XMLName: xml.Name{Local: kv.Key}, Value: kv.Value})
		}
	}
	w.WriteHeader(e.Status)
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(body)
}

func validXMLName(s string) bool {
	if s == "" || strings.ContainsAny(s, " <>&\"'/") {
		return false
	}
	return true
}
