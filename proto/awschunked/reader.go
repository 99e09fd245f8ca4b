package awschunked

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/postern/postern/proto/s3err"
)

const (
	bufferSize = 64 << 10
	// maxChunkSize guards the arithmetic; real chunks are far smaller.
	maxChunkSize = 1 << 62

	chunkSigPrefix   = "chunk-signature="
	trailerSigHeader = "x-amz-trailer-signature"
	// hex(sha256("")), the "headers" hash of every chunk string to sign.
	emptySHA256Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

var emptySHA256 = sha256.Sum256(nil)

type state uint8

const (
	stHeader  state = iota // expecting a chunk-size line
	stData                 // inside chunk data
	stDataEnd              // expecting the CRLF after chunk data
	stDone
)

// Reader decodes an aws-chunked body. It implements io.Reader; Read
// returns the decoded payload and io.EOF only after the final chunk, the
// trailer (if any) and all signatures have been read and verified.
// Errors are *s3err.Error values (see the Err* sentinels), except errors of the
// underlying reader other than io.EOF and io.ErrUnexpectedEOF, which are
// returned as they are.
type Reader struct {
	br      *bufio.Reader
	signed  bool
	trailer bool

	mac     hash.Hash // HMAC-SHA256 keyed with the signing key
	sha     hash.Hash // SHA-256 of the current chunk's data
	sts     []byte    // scratch for strings to sign
	date    string
	scope   string
	prevSig [sha256.Size]byte // previous signature (seed at first)
	wantSig [sha256.Size]byte // signature announced for the current chunk
	sum     [sha256.Size]byte // scratch, kept here so hashing does not allocate
	mac2    [sha256.Size]byte // scratch

	state     state
	remaining int64 // bytes left in the current chunk
	err       error // sticky; io.EOF once done
	decoded   int64
	expect    int64 // declared decoded length, -1 if unknown
	chunks    int
	trailers  map[string]string
	minChunk  int64 // smallest non-final chunk; 0: any size
	prevSize  int64 // size of the previous chunk
}

// NewReader returns a Reader decoding the aws-chunked body r. With a nil
// Signer chunk headers carry no signatures (STREAMING-UNSIGNED-PAYLOAD-
// TRAILER); otherwise every chunk and, with withTrailer, the trailer must
// carry a valid signature chained from s.Seed. withTrailer says whether
// trailer lines follow the final chunk.
func NewReader(r io.Reader, s *Signer, withTrailer bool) *Reader {
	rd := &Reader{
		br:      bufio.NewReaderSize(r, bufferSize),
		trailer: withTrailer,
		expect:  -1,
	}
	if s != nil {
		rd.signed = true
		rd.mac = hmac.New(sha256.New, s.Key)
		rd.sha = sha256.New()
		rd.date, rd.scope = s.AmzDate, s.Scope
		rd.sts = make([]byte, 0, 256)
		if len(s.Seed) != 2*sha256.Size {
			rd.err = newErr(ErrSignatureDoesNotMatch, "invalid seed signature")
		} else if _, err := hex.Decode(rd.prevSig[:], []byte(s.Seed)); err != nil {
			rd.err = newErr(ErrSignatureDoesNotMatch, "invalid seed signature")
		}
	}
	return rd
}

// ExpectDecodedLength makes the Reader check the payload length against
// the declared x-amz-decoded-content-length: more or fewer payload bytes
// fail with ErrIncompleteBody (a chunk that would exceed it fails before
// any of its data is returned). Call it before the first Read.
func (r *Reader) ExpectDecodedLength(n int64) { r.expect = n }

// RequireMinChunkSize makes the Reader refuse, as S3 does, a chunk of fewer
// than n bytes followed by another chunk with data (ErrChunkTooSmall). The
// last chunk with data may be smaller (the zero-length final chunk follows
// it). Call it before the first Read; S3 uses MinChunkSize.
func (r *Reader) RequireMinChunkSize(n int64) { r.minChunk = n }

// DecodedLength returns the number of payload bytes returned so far.
func (r *Reader) DecodedLength() int64 { return r.decoded }

// Chunks returns the number of chunks read so far, the final one included.
func (r *Reader) Chunks() int { return r.chunks }

// Trailers returns the trailer headers, lower-cased name to value,
// without x-amz-trailer-signature. It is valid after Read returned io.EOF;
// before that, and for bodies without a trailer, it returns nil.
func (r *Reader) Trailers() map[string]string {
	if r.err != io.EOF {
		return nil
	}
	return r.trailers
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		switch r.state {
		case stHeader:
			r.err = r.readChunkHeader()
		case stDataEnd:
			r.err = r.endChunk()
		case stData:
			if len(p) == 0 {
				return 0, nil
			}
			n := len(p)
			if int64(n) > r.remaining {
				n = int(r.remaining)
			}
			n, err := r.br.Read(p[:n])
			if n > 0 {
				if r.signed {
					r.sha.Write(p[:n])
				}
				r.remaining -= int64(n)
				r.decoded += int64(n)
				if r.remaining == 0 {
					r.state = stDataEnd
				}
				return n, nil
			}
			if err == nil {
				return 0, nil
			}
			r.err = r.readErr(err, "body ends inside chunk data")
		default:
			r.err = io.EOF
		}
	}
}

// readErr maps an error of the underlying reader.
func (r *Reader) readErr(err error, msg string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return newErr(ErrIncompleteBody, msg)
	}
	return err
}

// readLine returns the next CRLF-terminated line without its CRLF. The
// slice is valid until the next read.
func (r *Reader) readLine(kind *s3err.Error, what string) ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull || len(line) > MaxLineLength {
		return nil, newErr(kind, what+" too long")
	}
	if err != nil {
		return nil, r.readErr(err, "body ends inside "+what)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, newErr(kind, what+" not terminated by CRLF")
	}
	return line[:len(line)-2], nil
}

func (r *Reader) readChunkHeader() error {
	line, err := r.readLine(ErrInvalidChunkSize, "chunk-size line")
	if err != nil {
		return err
	}
	sizeHex, ext, hasExt := bytes.Cut(line, []byte(";"))
	if len(sizeHex) == 0 || len(sizeHex) > 16 || !isHex(sizeHex) {
		return newErr(ErrInvalidChunkSize, "invalid chunk size")
	}
	var size uint64
	for _, c := range sizeHex {
		size = size<<4 | uint64(unhex(c))
	}
	if size > maxChunkSize {
		return newErr(ErrInvalidChunkSize, "chunk size out of range")
	}
	if r.signed {
		sig, ok := bytes.CutPrefix(ext, []byte(chunkSigPrefix))
		if !hasExt || !ok {
			return newErr(ErrSignatureDoesNotMatch, "chunk signature missing")
		}
		if len(sig) != 2*sha256.Size || !isHex(sig) {
			return newErr(ErrSignatureDoesNotMatch, "chunk signature malformed")
		}
		hex.Decode(r.wantSig[:], sig)
		r.sha.Reset()
	}
	// Chunk extensions of unsigned bodies carry nothing we need.
	if size > 0 && r.chunks > 0 && r.prevSize < r.minChunk {
		return s3err.New(ErrChunkTooSmall.Status, ErrChunkTooSmall.Code, ErrChunkTooSmall.Message,
			s3err.KV{Key: "Chunk", Value: strconv.Itoa(r.chunks + 1)},
			s3err.KV{Key: "BadChunkSize", Value: strconv.FormatInt(r.prevSize, 10)})
	}
	r.chunks++
	r.prevSize = int64(size)
	if size > 0 {
		if r.expect >= 0 && int64(size) > r.expect-r.decoded {
			return newErr(ErrIncompleteBody, "chunk exceeds the declared decoded content length")
		}
		r.remaining = int64(size)
		r.state = stData
		return nil
	}
	return r.finish()
}

// endChunk consumes the CRLF after chunk data and checks the signature.
func (r *Reader) endChunk() error {
	crlf, err := r.br.Peek(2)
	if len(crlf) == 2 && (crlf[0] != '\r' || crlf[1] != '\n') {
		return newErr(ErrMalformed, "chunk data not followed by CRLF (chunk longer than declared?)")
	}
	if err != nil {
		return r.readErr(err, "body ends after chunk data")
	}
	r.br.Discard(2)
	if r.signed {
		if err := r.verifyChunk(r.sha.Sum(r.sum[:0])); err != nil {
			return err
		}
	}
	r.state = stHeader
	return nil
}

func (r *Reader) verifyChunk(dataHash []byte) error {
	b := append(r.sts[:0], "AWS4-HMAC-SHA256-PAYLOAD\n"...)
	b = append(b, r.date...)
	b = append(b, '\n')
	b = append(b, r.scope...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, r.prevSig[:])
	b = append(b, '\n')
	b = append(b, emptySHA256Hex...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, dataHash)
	r.sts = b
	return r.verify(b, r.wantSig[:], "chunk signature does not match")
}

// verify checks HMAC(key, sts) against want and makes it the previous
// signature.
func (r *Reader) verify(sts, want []byte, msg string) error {
	r.mac.Reset()
	r.mac.Write(sts)
	got := r.mac.Sum(r.mac2[:0])
	if !hmac.Equal(got, want) {
		return newErr(ErrSignatureDoesNotMatch, msg)
	}
	copy(r.prevSig[:], want)
	return nil
}

// finish handles everything after the final chunk's size line.
func (r *Reader) finish() error {
	if r.signed {
		if err := r.verifyChunk(emptySHA256[:]); err != nil {
			return err
		}
	}
	if r.trailer {
		if err := r.readTrailers(); err != nil {
			return err
		}
	} else {
		line, err := r.readLine(ErrMalformed, "final chunk terminator")
		if err != nil {
			return err
		}
		if len(line) != 0 {
			return newErr(ErrMalformed, "final chunk has data")
		}
	}
	// Nothing may follow. The body of an HTTP request ends at its
	// Content-Length, so this does not block on a well-behaved transport.
	if _, err := r.br.Peek(1); err == nil {
		return newErr(ErrMalformed, "data after the final chunk")
	} else if err != io.EOF {
		return err
	}
	if r.expect >= 0 && r.decoded != r.expect {
		return newErr(ErrIncompleteBody, "payload shorter than the declared decoded content length")
	}
	r.state = stDone
	return io.EOF
}

func (r *Reader) readTrailers() error {
	trailers := make(map[string]string)
	var sig string
	haveSig := false
	for lines := 0; ; lines++ {
		line, err := r.readLine(ErrMalformed, "trailer line")
		if err != nil {
			return err
		}
		if len(line) == 0 {
			break
		}
		if lines >= MaxTrailers+1 {
			return newErr(ErrMalformed, "too many trailers")
		}
		name, value, ok := strings.Cut(string(line), ":")
		name = lowerASCII(strings.TrimSpace(name))
		value = strings.Trim(value, " \t")
		if !ok || !validName(name) || !validValue(value) {
			return newErr(ErrMalformed, "malformed trailer line")
		}
		if name == trailerSigHeader {
			if haveSig {
				return newErr(ErrMalformed, "repeated trailer signature")
			}
			sig, haveSig = value, true
			continue
		}
		if _, dup := trailers[name]; dup {
			return newErr(ErrMalformed, "repeated trailer "+name)
		}
		if len(trailers) >= MaxTrailers {
			return newErr(ErrMalformed, "too many trailers")
		}
		trailers[name] = value
	}
	if r.signed {
		if !haveSig {
			return newErr(ErrSignatureDoesNotMatch, "trailer signature missing")
		}
		var want [sha256.Size]byte
		if len(sig) != 2*sha256.Size || !isHex([]byte(sig)) {
			return newErr(ErrSignatureDoesNotMatch, "trailer signature malformed")
		}
		hex.Decode(want[:], []byte(sig))
		if err := r.verify(r.trailerStringToSign(trailers), want[:], "trailer signature does not match"); err != nil {
			return err
		}
	}
	r.trailers = trailers
	return nil
}

// trailerStringToSign builds the trailer's string to sign; the trailer
// headers are hashed in canonical form, "name:value\n" sorted by name.
func (r *Reader) trailerStringToSign(trailers map[string]string) []byte {
	names := make([]string, 0, len(trailers))
	for k := range trailers {
		names = append(names, k)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, k := range names {
		io.WriteString(h, k)
		io.WriteString(h, ":")
		io.WriteString(h, trailers[k])
		io.WriteString(h, "\n")
	}
	var sum [sha256.Size]byte
	b := append(r.sts[:0], "AWS4-HMAC-SHA256-TRAILER\n"...)
	b = append(b, r.date...)
	b = append(b, '\n')
	b = append(b, r.scope...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, r.prevSig[:])
	b = append(b, '\n')
	b = hex.AppendEncode(b, h.Sum(sum[:0]))
	r.sts = b
	return b
}

// validName accepts an HTTP header field name (RFC 9110 token).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validValue rejects control characters other than tab.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
