package s3test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/postern/postern/internal/testserver"
)

// SHA256Hex is the hex SHA-256 of b (a SigV4 payload hash).
func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// SignV4 signs req now with aws-sdk-go-v2's SigV4 signer, as s's root, for
// service, over the payload hash of body.
func SignV4(t testing.TB, s *testserver.Server, req *http.Request, service string, body []byte) {
	t.Helper()
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, SHA256Hex(body), service, s.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// DoSigned sends a hand-made S3 request signed with SigV4 (payload sha256
// signed and sent as X-Amz-Content-Sha256), for the cases where every
// client adds a header a test wants absent. It returns the response and
// its whole body.
func DoSigned(t testing.TB, s *testserver.Server, method, path string, body []byte, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("X-Amz-Content-Sha256", SHA256Hex(body))
	SignV4(t, s, req, "s3", body)
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, rb
}

// ErrorBody is S3's XML error document, with the elements tests read.
// Decode it with xml.Unmarshal (which accepts any root element) or with
// ParseError.
type ErrorBody struct {
	Code              string
	Message           string
	RequestID         string `xml:"RequestId"`
	Resource          string
	Expires           string
	ServerTime        string
	MaxExpiresSeconds string
	StringToSign      string
	StringToSignBytes string
	SignatureProvided string
	AWSAccessKeyId    string

	// Fields holds every child element by name (set by ParseError only).
	Fields map[string]string `xml:"-"`
}

// ParseError decodes an <Error> body into Code, Message and Fields; ok is
// false when the body is not one.
func ParseError(body []byte) (e ErrorBody, ok bool) {
	e.Fields = map[string]string{}
	dec := xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	var name string
	var text bytes.Buffer
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch x := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if x.Name.Local != "Error" {
					return e, false
				}
				ok = true
			}
			name = x.Name.Local
			text.Reset()
		case xml.CharData:
			text.Write(x)
		case xml.EndElement:
			if depth == 2 {
				e.Fields[name] = text.String()
			}
			depth--
		}
	}
	e.Code, e.Message = e.Fields["Code"], e.Fields["Message"]
	return e, ok
}
