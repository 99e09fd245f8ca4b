package awschunked

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/postern/postern/proto/s3err"
)

// FuzzReader decodes arbitrary bodies in every mode (the Reader must never
// panic, loop or return more bytes than it was given) and round-trips the
// input as a payload through the test encoder.
func FuzzReader(f *testing.F) {
	for i, m := range modes {
		b, _ := m.body([]byte("hello, aws-chunked world"), 5)
		f.Add(b, uint8(i))
	}
	f.Add([]byte("0\r\n\r\n"), uint8(0))
	f.Add([]byte("1;chunk-signature=x\r\na\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"), uint8(1))
	f.Add([]byte("ffffffffffffffff\r\n"), uint8(0))
	f.Add([]byte("3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"), uint8(128))
	f.Fuzz(func(t *testing.T, body []byte, sel uint8) {
		if len(body) > 1<<20 {
			return
		}
		m := modes[int(sel)%len(modes)]
		var in io.Reader = bytes.NewReader(body)
		if sel&4 != 0 {
			in = iotest.OneByteReader(in)
		}
		r := NewReader(in, m.signer(), m.trailer)
		if sel&128 != 0 {
			r.RequireMinChunkSize(MinChunkSize)
		}
		out, err := readAllWith(r, 1+int(sel>>3))
		if len(out) > len(body) {
			t.Fatalf("decoded %d bytes from %d", len(out), len(body))
		}
		if err == nil {
			if m.trailer && r.Trailers() == nil {
				t.Fatal("no trailers after EOF")
			}
			if len(r.Trailers()) > MaxTrailers {
				t.Fatal("too many trailers")
			}
		} else {
			var e *s3err.Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
		}

		// Round trip of body as the payload.
		// Keep the chunk count small so signed round trips stay cheap.
		chunk := 1 + int(sel)*97 + len(body)/32
		enc, tr := m.body(body, chunk)
		r = NewReader(bytes.NewReader(enc), m.signer(), m.trailer)
		r.ExpectDecodedLength(int64(len(body)))
		got, err := readAllWith(r, 1+int(sel)*31)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("round trip: %v", err)
		}
		if m.trailer && r.Trailers()[tr[0].name] != tr[0].value {
			t.Fatal("round trip trailers")
		}
	})
}
