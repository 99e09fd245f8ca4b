package awschunked

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/postern/postern/proto/s3err"
	"github.com/postern/postern/proto/sigv4"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/postern/postern/proto/checksum"
)

type mode struct {
	name    string
	signed  bool
	trailer bool
}

var modes = []mode{
	{"unsigned", false, false},
	{"unsigned-trailer", false, true},
	{"signed", true, false},
	{"signed-trailer", true, true},
}

func (m mode) signer() *Signer {
	if m.signed {
		return testSigner()
	}
	return nil
}

func (m mode) body(data []byte, chunk int) ([]byte, []testTrailer) {
	var tr []testTrailer
	if m.trailer {
		h, _ := checksum.New(checksum.CRC32C)
		h.Write(data)
		tr = []testTrailer{{"x-amz-checksum-crc32c", checksum.Encode(h.Sum(nil))}}
	}
	return newEncoder(m.signed).encode(data, chunk, tr), tr
}

func decodeAll(t testing.TB, body []byte, s *Signer, trailer bool) ([]byte, map[string]string, error) {
	t.Helper()
	r := NewReader(bytes.NewReader(body), s, trailer)
	out, err := io.ReadAll(r)
	return out, r.Trailers(), err
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// The worked example of the AWS documentation ("Example: PUT Object",
// SigV4 streaming): 65 KiB of 'a' in 64 KiB chunks.
func TestAWSDocumentationExample(t *testing.T) {
	data := bytes.Repeat([]byte("a"), 65*1024)
	sigs := []string{
		"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
	}
	body := "10000;chunk-signature=" + sigs[0] + "\r\n" + string(data[:65536]) + "\r\n" +
		"400;chunk-signature=" + sigs[1] + "\r\n" + string(data[65536:]) + "\r\n" +
		"0;chunk-signature=" + sigs[2] + "\r\n\r\n"
	got, tr, err := decodeAll(t, []byte(body), testSigner(), false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) || len(tr) != 0 {
		t.Fatal("payload mismatch")
	}
	// The independent test encoder agrees with the published signatures.
	if enc := newEncoder(true).encode(data, 65536, nil); string(enc) != body {
		t.Fatal("test encoder disagrees with the AWS example")
	}
	// A different first signature is refused.
	bad := strings.Replace(body, sigs[0], strings.Repeat("0", 64), 1)
	if _, _, err := decodeAll(t, []byte(bad), testSigner(), false); !errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Fatalf("err = %v", err)
	}
}

// The trailer example of the AWS documentation (same data and keys, seed
// and chunk signatures as published there; trailer x-amz-checksum-crc32c).
func TestAWSDocumentationTrailerExample(t *testing.T) {
	data := bytes.Repeat([]byte("a"), 65*1024)
	s := testSigner()
	s.Seed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
	e := newEncoder(true)
	e.prev = s.Seed
	body := e.encode(data, 65536, []testTrailer{{"x-amz-checksum-crc32c", "sOO8/Q=="}})
	for _, sig := range []string{
		"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
		"1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
		"2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
	} {
		if !bytes.Contains(body, []byte("chunk-signature="+sig+"\r\n")) {
			t.Fatalf("published chunk signature %s not reproduced", sig)
		}
	}
	got, tr, err := decodeAll(t, body, s, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) || tr["x-amz-checksum-crc32c"] != "sOO8/Q==" || len(tr) != 1 {
		t.Fatalf("trailers = %v", tr)
	}
	// The published trailer signature.
	if !bytes.HasSuffix(body, []byte("\r\nx-amz-checksum-crc32c:sOO8/Q==\r\n"+
		"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n")) {
		t.Fatalf("trailer: %q", body[bytes.LastIndex(body, []byte("0;chunk")):])
	}
}

// Chunk signatures computed by the AWS SDK's own SigV4 stream signer (an
// implementation independent of both the decoder and the test encoder).
func TestSDKStreamSigner(t *testing.T) {
	seed, _ := hex.DecodeString(exampleSeed)
	ss := v4.NewStreamSigner(aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: exampleSecret},
		"s3", "us-east-1", seed)
	when := time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
	data := randBytes(rand.New(rand.NewPCG(5, 6)), 3*65536-100)
	var body bytes.Buffer
	for _, piece := range [][]byte{data[:65536], data[65536:131072], data[131072:], nil} {
		sig, err := ss.GetSignature(context.Background(), nil, piece, when)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&body, "%x;chunk-signature=%x\r\n", len(piece), sig)
		body.Write(piece)
		if piece != nil {
			body.WriteString("\r\n")
		}
	}
	body.WriteString("\r\n")
	got, _, err := decodeAll(t, body.Bytes(), testSigner(), false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("payload mismatch")
	}
	if enc := newEncoder(true).encode(data, 65536, nil); !bytes.Equal(enc, body.Bytes()) {
		t.Fatal("test encoder disagrees with the SDK stream signer")
	}
}

func TestRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	readers := map[string]func(io.Reader) io.Reader{
		"plain":    func(r io.Reader) io.Reader { return r },
		"onebyte":  iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"dataerr":  iotest.DataErrReader,
		"timeout0": func(r io.Reader) io.Reader { return r },
	}
	for _, m := range modes {
		for _, size := range []int{0, 1, 100, 8191, 8192, 65536, 65537, 300000} {
			for _, chunk := range []int{1, 7, 8192, 65536, 1 << 20} {
				if size/chunk > 5000 {
					continue
				}
				data := randBytes(rnd, size)
				body, tr := m.body(data, chunk)
				for rname, wrap := range readers {
					r := NewReader(wrap(bytes.NewReader(body)), m.signer(), m.trailer)
					r.ExpectDecodedLength(int64(size))
					got, err := readAllWith(r, 1+rnd.IntN(70000))
					if err != nil {
						t.Fatalf("%s size=%d chunk=%d %s: %v", m.name, size, chunk, rname, err)
					}
					if !bytes.Equal(got, data) {
						t.Fatalf("%s size=%d chunk=%d %s: payload mismatch", m.name, size, chunk, rname)
					}
					if r.DecodedLength() != int64(size) || r.Chunks() != (size+chunk-1)/chunk+1 {
						t.Fatalf("counters %d %d", r.DecodedLength(), r.Chunks())
					}
					if m.trailer {
						if trs := r.Trailers(); len(trs) != 1 || trs[tr[0].name] != tr[0].value {
							t.Fatalf("trailers %v", trs)
						}
					} else if len(r.Trailers()) != 0 {
						t.Fatal("unexpected trailers")
					}
					// Read after EOF stays EOF.
					if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
						t.Fatal("read after EOF")
					}
				}
			}
		}
	}
}

// readAllWith reads with a fixed-size buffer, like io.Copy does.
func readAllWith(r io.Reader, bufSize int) ([]byte, error) {
	var out bytes.Buffer
	buf := make([]byte, bufSize)
	for {
		n, err := r.Read(buf)
		out.Write(buf[:n])
		if err == io.EOF {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

func TestTrailers(t *testing.T) {
	trs := []testTrailer{{"x-amz-checksum-sha256", "abc="}, {"x-amz-checksum-crc32", "AAAAAA=="}, {"x-amz-meta-z", "v"}}
	for _, signed := range []bool{false, true} {
		body := newEncoder(signed).encode([]byte("hello"), 2, trs)
		_, got, err := decodeAll(t, body, mode{signed: signed}.signer(), true)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got["x-amz-checksum-crc32"] != "AAAAAA==" || got["x-amz-meta-z"] != "v" {
			t.Fatalf("got %v", got)
		}
		// Names are lower-cased and values trimmed; signatures cover
		// the canonical form.
		e := newEncoder(signed)
		body = e.encode([]byte("hi"), 8, []testTrailer{{"x-amz-checksum-crc32", "AAAAAA=="}})
		body = bytes.Replace(body, []byte("x-amz-checksum-crc32:AAAAAA=="), []byte("X-Amz-Checksum-CRC32: AAAAAA== "), 1)
		_, got, err = decodeAll(t, body, mode{signed: signed}.signer(), true)
		if err != nil || got["x-amz-checksum-crc32"] != "AAAAAA==" {
			t.Fatalf("case/space handling: %v %v", got, err)
		}
		// An empty trailer section is allowed.
		body = newEncoder(signed).encode([]byte("hi"), 8, []testTrailer{})
		if _, got, err = decodeAll(t, body, mode{signed: signed}.signer(), true); err != nil || len(got) != 0 {
			t.Fatalf("empty trailer: %v %v", got, err)
		}
	}
	// Unsigned bodies tolerate a stray trailer signature but do not report it.
	body := []byte("2\r\nhi\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-trailer-signature:00\r\n\r\n")
	if _, got, err := decodeAll(t, body, nil, true); err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	// Too many trailers.
	var many []testTrailer
	for i := 0; i <= MaxTrailers; i++ {
		many = append(many, testTrailer{fmt.Sprintf("x-t%d", i), "v"})
	}
	body = newEncoder(false).encode([]byte("hi"), 8, many)
	if _, _, err := decodeAll(t, body, nil, true); !errors.Is(err, ErrMalformed) {
		t.Fatalf("too many trailers: %v", err)
	}
	if _, _, err := decodeAll(t, newEncoder(false).encode([]byte("hi"), 8, many[:MaxTrailers]), nil, true); err != nil {
		t.Fatalf("MaxTrailers trailers: %v", err)
	}
}

func TestMalformed(t *testing.T) {
	sig := strings.Repeat("a", 64)
	long := strings.Repeat("0", MaxLineLength) + "1\r\nx\r\n0\r\n\r\n"
	cases := []struct {
		name    string
		body    string
		signed  bool
		trailer bool
		want    *s3err.Error
	}{
		{"empty", "", false, false, ErrIncompleteBody},
		{"bad hex", "zz\r\n", false, false, ErrInvalidChunkSize},
		{"empty size", "\r\n", false, false, ErrInvalidChunkSize},
		{"negative", "-1\r\n", false, false, ErrInvalidChunkSize},
		{"plus", "+1\r\nx\r\n0\r\n\r\n", false, false, ErrInvalidChunkSize},
		{"space", " 1\r\nx\r\n0\r\n\r\n", false, false, ErrInvalidChunkSize},
		{"17 digits", "00000000000000001\r\nx\r\n0\r\n\r\n", false, false, ErrInvalidChunkSize},
		{"huge", "ffffffffffffffff\r\nx", false, false, ErrInvalidChunkSize},
		{"bare LF header", "1\nx\r\n0\r\n\r\n", false, false, ErrInvalidChunkSize},
		{"no CRLF at all", strings.Repeat("1", 100000), false, false, ErrInvalidChunkSize},
		{"oversize line", long, false, false, ErrInvalidChunkSize},
		{"chunk longer than declared", "1\r\nxy\r\n0\r\n\r\n", false, false, ErrMalformed},
		{"chunk shorter than declared", "3\r\nxy\r\n0\r\n\r\n", false, false, ErrMalformed},
		{"missing CRLF after data", "1\r\nx0\r\n\r\n", false, false, ErrMalformed},
		{"truncated data", "10\r\nabc", false, false, ErrIncompleteBody},
		{"no final chunk", "1\r\nx\r\n", false, false, ErrIncompleteBody},
		{"final chunk without CRLF", "1\r\nx\r\n0\r\n", false, false, ErrIncompleteBody},
		{"final chunk with data", "1\r\nx\r\n0\r\nab\r\n", false, false, ErrMalformed},
		{"data after end", "1\r\nx\r\n0\r\n\r\nextra", false, false, ErrMalformed},
		{"trailer without colon", "1\r\nx\r\n0\r\nbogus\r\n\r\n", false, true, ErrMalformed},
		{"trailer bad name", "1\r\nx\r\n0\r\nx y:1\r\n\r\n", false, true, ErrMalformed},
		{"trailer empty name", "1\r\nx\r\n0\r\n:1\r\n\r\n", false, true, ErrMalformed},
		{"trailer control char", "1\r\nx\r\n0\r\na:1\x00\r\n\r\n", false, true, ErrMalformed},
		{"trailer dup", "1\r\nx\r\n0\r\na:1\r\nA:2\r\n\r\n", false, true, ErrMalformed},
		{"trailer bare LF", "1\r\nx\r\n0\r\na:1\n\r\n", false, true, ErrMalformed},
		{"trailer truncated", "1\r\nx\r\n0\r\na:1\r\n", false, true, ErrIncompleteBody},
		{"trailer oversize", "1\r\nx\r\n0\r\na:" + strings.Repeat("v", MaxLineLength) + "\r\n\r\n", false, true, ErrMalformed},
		{"data after trailer", "1\r\nx\r\n0\r\na:1\r\n\r\nX", false, true, ErrMalformed},
		{"signed: no signature", "1\r\nx\r\n", true, false, ErrSignatureDoesNotMatch},
		{"signed: short signature", "1;chunk-signature=abc\r\nx\r\n", true, false, ErrSignatureDoesNotMatch},
		{"signed: non-hex signature", "1;chunk-signature=" + strings.Repeat("g", 64) + "\r\nx\r\n", true, false, ErrSignatureDoesNotMatch},
		{"signed: other extension", "1;foo=" + sig + "\r\nx\r\n", true, false, ErrSignatureDoesNotMatch},
		{"signed: wrong signature", "1;chunk-signature=" + sig + "\r\nx\r\n", true, false, ErrSignatureDoesNotMatch},
		{"signed: wrong final signature", "0;chunk-signature=" + sig + "\r\n\r\n", true, false, ErrSignatureDoesNotMatch},
	}
	for _, c := range cases {
		var s *Signer
		if c.signed {
			s = testSigner()
		}
		_, _, err := decodeAll(t, []byte(c.body), s, c.trailer)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
		var e *s3err.Error
		if errors.As(err, &e) && e.Status != map[bool]int{true: 403, false: 400}[c.want == ErrSignatureDoesNotMatch] {
			t.Errorf("%s: status %d", c.name, e.Status)
		}
		// The message is S3's where S3 has a fixed one, else the detail.
		if e != nil && (e.Message == "" || c.want.Message != "" && (e.Message != c.want.Message || e.Err == nil)) {
			t.Errorf("%s: message %q, cause %v", c.name, e.Message, e.Err)
		}
	}
	// Chunk extensions are ignored on unsigned bodies.
	if got, _, err := decodeAll(t, []byte("1;foo=bar\r\nx\r\n0;chunk-signature=x\r\n\r\n"), nil, false); err != nil || string(got) != "x" {
		t.Errorf("unsigned extension: %q %v", got, err)
	}
	// A bad seed fails at once.
	s := testSigner()
	s.Seed = "nothex"
	if _, _, err := decodeAll(t, newEncoder(true).encode([]byte("x"), 1, nil), s, false); !errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Errorf("bad seed: %v", err)
	}
}

func TestSignedTrailerErrors(t *testing.T) {
	tr := []testTrailer{{"x-amz-checksum-crc32", "AAAAAA=="}}
	body := newEncoder(true).encode([]byte("hello world"), 4, tr)
	// Missing trailer signature.
	i := bytes.Index(body, []byte("x-amz-trailer-signature:"))
	noSig := append(append([]byte{}, body[:i]...), "\r\n"...)
	if _, _, err := decodeAll(t, noSig, testSigner(), true); !errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Errorf("missing: %v", err)
	}
	// Changed trailer value.
	changed := bytes.Replace(body, []byte("AAAAAA=="), []byte("AAAAAB=="), 1)
	if _, _, err := decodeAll(t, changed, testSigner(), true); !errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Errorf("changed value: %v", err)
	}
	// Extra trailer not covered by the signature.
	extra := bytes.Replace(body, []byte("x-amz-trailer-signature:"), []byte("x-amz-meta-a:b\r\nx-amz-trailer-signature:"), 1)
	if _, _, err := decodeAll(t, extra, testSigner(), true); !errors.Is(err, ErrSignatureDoesNotMatch) {
		t.Errorf("extra trailer: %v", err)
	}
	// Repeated signature line.
	sigLine := body[i : len(body)-2]
	rep := append(append(append([]byte{}, body[:len(body)-2]...), sigLine...), "\r\n"...)
	if _, _, err := decodeAll(t, rep, testSigner(), true); !errors.Is(err, ErrMalformed) {
		t.Errorf("repeated signature: %v", err)
	}
	// The signed trailer body read as a plain signed body fails too.
	if _, _, err := decodeAll(t, body, testSigner(), false); err == nil {
		t.Error("trailer accepted without trailer mode")
	}
}

// Every proper prefix of a valid body is an incomplete body, never EOF, a
// hang or a panic.
func TestTruncation(t *testing.T) {
	data := []byte("The quick brown fox jumps over the lazy dog")
	for _, m := range modes {
		body, _ := m.body(data, 10)
		for cut := 0; cut < len(body); cut++ {
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r }, iotest.OneByteReader,
			} {
				r := NewReader(wrap(bytes.NewReader(body[:cut])), m.signer(), m.trailer)
				_, err := readAllWith(r, 3)
				if !errors.Is(err, ErrIncompleteBody) {
					t.Fatalf("%s cut at %d/%d: err = %v", m.name, cut, len(body), err)
				}
				if r.Trailers() != nil {
					t.Fatal("trailers before EOF")
				}
			}
		}
		// io.ErrUnexpectedEOF from the transport is an incomplete body too.
		r := NewReader(io.MultiReader(bytes.NewReader(body[:len(body)/2]), iotest.ErrReader(io.ErrUnexpectedEOF)), m.signer(), m.trailer)
		if _, err := io.ReadAll(r); !errors.Is(err, ErrIncompleteBody) {
			t.Fatalf("unexpected EOF: %v", err)
		}
		// Other transport errors are returned as they are.
		boom := errors.New("boom")
		r = NewReader(io.MultiReader(bytes.NewReader(body[:len(body)/2]), iotest.ErrReader(boom)), m.signer(), m.trailer)
		if _, err := io.ReadAll(r); err != boom {
			t.Fatalf("transport error: %v", err)
		}
	}
}

// Any single-byte change of a signed body either fails or (for changes
// that do not alter meaning, such as the case of a hex digit) decodes to
// the same payload and trailers.
func TestTamper(t *testing.T) {
	data := []byte("tamper-evident payload, three chunks")
	for _, m := range modes[2:] {
		body, tr := m.body(data, 16)
		for i := range body {
			for _, x := range []byte{0x01, 0x20, 0x80} {
				bad := append([]byte{}, body...)
				bad[i] ^= x
				got, trs, err := decodeAll(t, bad, m.signer(), m.trailer)
				if err != nil {
					var e *s3err.Error
					if !errors.As(err, &e) {
						t.Fatalf("%s byte %d: untyped error %v", m.name, i, err)
					}
					continue
				}
				if !bytes.Equal(got, data) || (m.trailer && trs[tr[0].name] != tr[0].value) {
					t.Fatalf("%s byte %d ^%#x: altered body accepted", m.name, i, x)
				}
			}
		}
		// Changing a payload byte is a signature error specifically.
		bad := bytes.Replace(body, []byte("three"), []byte("THREE"), 1)
		if _, _, err := decodeAll(t, bad, m.signer(), m.trailer); !errors.Is(err, ErrSignatureDoesNotMatch) {
			t.Fatalf("%s: %v", m.name, err)
		}
		// So is a wrong key.
		s := m.signer()
		s.Key = sigv4.SigningKey("other", "20130524", "us-east-1", "s3")
		if _, _, err := decodeAll(t, body, s, m.trailer); !errors.Is(err, ErrSignatureDoesNotMatch) {
			t.Fatalf("%s wrong key: %v", m.name, err)
		}
	}
}

func TestDecodedLength(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 1000)
	body, _ := modes[1].body(data, 300)
	for _, c := range []struct {
		declared int64
		ok       bool
	}{{1000, true}, {999, false}, {1001, false}, {0, false}} {
		r := NewReader(bytes.NewReader(body), nil, true)
		r.ExpectDecodedLength(c.declared)
		got, err := io.ReadAll(r)
		if c.ok != (err == nil) {
			t.Fatalf("declared %d: %v", c.declared, err)
		}
		if !c.ok {
			if !errors.Is(err, ErrIncompleteBody) {
				t.Fatalf("declared %d: %v", c.declared, err)
			}
			if int64(len(got)) > c.declared {
				t.Fatalf("declared %d: returned %d bytes", c.declared, len(got))
			}
		}
	}
}

func TestParseContentSHA256(t *testing.T) {
	for v, want := range map[string][3]bool{
		StreamingSigned:                              {true, false, true},
		StreamingSignedTrailer:                       {true, true, true},
		StreamingUnsignedTrailer:                     {false, true, true},
		"UNSIGNED-PAYLOAD":                           {false, false, false},
		"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD":   {false, false, false},
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e464": {false, false, false},
	} {
		s, tr, ok := ParseContentSHA256(v)
		if [3]bool{s, tr, ok} != want {
			t.Errorf("%s: %v %v %v", v, s, tr, ok)
		}
	}
}

func TestSigningKey(t *testing.T) {
	// The signing key of the AWS SigV4 documentation example (iam,
	// 20150830, us-east-1).
	k := sigv4.SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam")
	if got := hex.EncodeToString(k); got != "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9" {
		t.Fatal(got)
	}
}

func TestMinChunkSize(t *testing.T) {
	for _, m := range modes {
		for _, c := range []struct {
			size, chunk int
			badChunk    int   // 0: accepted
			badSize     int64 // size reported
		}{
			{0, 8192, 0, 0},
			{5, 8192, 0, 0},        // a single small chunk
			{8192, 8192, 0, 0},     // exactly one minimum chunk
			{20000, 8192, 0, 0},    // 8192, 8192, 3616: the last may be small
			{20000, 65536, 0, 0},   // one chunk
			{20000, 8191, 2, 8191}, // the first chunk is too small
			{5, 3, 2, 3},           // "hel" "lo": S3 reports Chunk 2, BadChunkSize 3
			{16385, 16384, 0, 0},   // the one-byte last chunk is fine
		} {
			data := bytes.Repeat([]byte("d"), c.size)
			body, _ := m.body(data, c.chunk)
			r := NewReader(bytes.NewReader(body), m.signer(), m.trailer)
			r.RequireMinChunkSize(MinChunkSize)
			got, err := io.ReadAll(r)
			name := fmt.Sprintf("%s: %d bytes in chunks of %d", m.name, c.size, c.chunk)
			if c.badChunk == 0 {
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("%s: %v", name, err)
				}
				continue
			}
			var e *s3err.Error
			if !errors.As(err, &e) || !errors.Is(err, ErrChunkTooSmall) || e.Status != 403 || e.Get("Chunk") != strconv.Itoa(c.badChunk) || e.Get("BadChunkSize") != strconv.FormatInt(c.badSize, 10) ||
				e.Message != "Only the last chunk is allowed to have a size less than 8192 bytes" {
				t.Errorf("%s: %#v, want chunk %d of size %d refused", name, err, c.badChunk, c.badSize)
			}
			if len(got) > c.chunk {
				t.Errorf("%s: %d bytes returned before the error", name, len(got))
			}
		}
	}
}
