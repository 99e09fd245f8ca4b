package awschunked

// A test-only encoder, written from the AWS documentation independently of
// the decoder, to produce bodies for round trips.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/postern/postern/proto/sigv4"
	"sort"
	"strings"
)

type testTrailer struct{ name, value string }

type encoder struct {
	key         []byte
	date, scope string
	prev        string // hex
	signed      bool
}

func hmacHex(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (e *encoder) chunkSig(data []byte) string {
	sts := strings.Join([]string{
		"AWS4-HMAC-SHA256-PAYLOAD", e.date, e.scope, e.prev,
		sha256Hex(nil), sha256Hex(data),
	}, "\n")
	e.prev = hmacHex(e.key, sts)
	return e.prev
}

func (e *encoder) trailerSig(trailers []testTrailer) string {
	sorted := append([]testTrailer(nil), trailers...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	var canon strings.Builder
	for _, t := range sorted {
		canon.WriteString(t.name + ":" + t.value + "\n")
	}
	sts := strings.Join([]string{
		"AWS4-HMAC-SHA256-TRAILER", e.date, e.scope, e.prev, sha256Hex([]byte(canon.String())),
	}, "\n")
	e.prev = hmacHex(e.key, sts)
	return e.prev
}

// encode produces an aws-chunked body of data cut into chunks of the
// given size. trailers == nil means no trailer section.
func (e *encoder) encode(data []byte, chunk int, trailers []testTrailer) []byte {
	var out bytes.Buffer
	header := func(piece []byte) {
		if e.signed {
			fmt.Fprintf(&out, "%x;chunk-signature=%s\r\n", len(piece), e.chunkSig(piece))
		} else {
			fmt.Fprintf(&out, "%x\r\n", len(piece))
		}
	}
	for off := 0; off < len(data); off += chunk {
		piece := data[off:min(off+chunk, len(data))]
		header(piece)
		out.Write(piece)
		out.WriteString("\r\n")
	}
	header(nil)
	if trailers != nil {
		for _, t := range trailers {
			out.WriteString(t.name + ":" + t.value + "\r\n")
		}
		if e.signed {
			out.WriteString("x-amz-trailer-signature:" + e.trailerSig(trailers) + "\r\n")
		}
	}
	out.WriteString("\r\n")
	return out.Bytes()
}

// Test credentials of the AWS documentation examples.
const (
	exampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	exampleDate   = "20130524T000000Z"
	exampleScope  = "20130524/us-east-1/s3/aws4_request"
	exampleSeed   = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
)

func exampleKey() []byte { return sigv4.SigningKey(exampleSecret, "20130524", "us-east-1", "s3") }

func testSigner() *Signer {
	return &Signer{Key: exampleKey(), AmzDate: exampleDate, Scope: exampleScope, Seed: exampleSeed}
}

// newEncoder returns an encoder matching testSigner (signed) or unsigned.
func newEncoder(signed bool) *encoder {
	return &encoder{key: exampleKey(), date: exampleDate, scope: exampleScope, prev: exampleSeed, signed: signed}
}
