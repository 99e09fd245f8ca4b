package robustness

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// rawReq describes one request sent over a raw TCP connection.
type rawReq struct {
	method, path, query string
	hdr                 http.Header
	body                []byte
	anonymous           bool      // no signature at all
	at                  time.Time // signing time; zero: now
	region              string    // credential scope region; "": the server's
	service             string    // credential scope service; "": s3
	accessKey           string    // "": the server's
	payload             string    // x-amz-content-sha256; "": sha256(body)
	contentLength       int64     // declared length; 0: len(body); -1: none
	send                []byte    // bytes sent after the head; nil: body
	post                func(h http.Header)
	closeWrite          bool // half-close after sending (a client that stops sending)
}

// build returns the bytes of the request.
func (c *client) build(q rawReq) []byte {
	r := c.request(t0ctx, q.method, q.path, q.query, nil, 0)
	for k, v := range q.hdr {
		r.Header[k] = v
	}
	cl := q.contentLength
	if cl == 0 {
		cl = int64(len(q.body))
	}
	if cl > 0 {
		r.ContentLength = cl
	}
	if !q.anonymous {
		payload := q.payload
		if payload == "" {
			payload = s3test.SHA256Hex(q.body)
		}
		at := q.at
		if at.IsZero() {
			at = time.Now()
		}
		region, service := q.region, q.service
		if region == "" {
			region = c.srv.Region
		}
		if service == "" {
			service = "s3"
		}
		creds := c.creds
		if q.accessKey != "" {
			creds = aws.Credentials{AccessKeyID: q.accessKey, SecretAccessKey: "x"}
		}
		r.Header.Set("X-Amz-Content-Sha256", payload)
		if err := c.signer.SignHTTP(t0ctx, creds, r, payload, service, region, at); err != nil {
			panic(err)
		}
	}
	if q.post != nil {
		q.post(r.Header)
	}
	r.Header.Del("Content-Length")
	if cl < 0 {
		cl = -1
	}
	head := serializeHead(r, cl)
	send := q.send
	if send == nil {
		send = q.body
	}
	return append(head, send...)
}

// authzFor returns an Authorization header value with the given parts.
func authzFor(alg, cred, signed, sig string) string {
	return alg + " Credential=" + cred + ", SignedHeaders=" + signed + ", Signature=" + sig
}

func setAuthz(v string) func(http.Header) {
	return func(h http.Header) { h.Set("Authorization", v) }
}

// garbage returns n random bytes that are legal in an HTTP header value
// (visible ASCII and obs-text), not starting with "AWS".
func garbage(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		for {
			c := byte(rng.IntN(256))
			if c > 0x20 && c != 0x7f {
				b[i] = c
				break
			}
		}
	}
	b[0] = 'G'
	return string(b)
}

// badRow is one row of the bad-input table.
type badRow struct {
	name   string
	req    rawReq
	status int
	code   string   // S3 error code; "" for a response that is not S3's
	alts   []string // other acceptable "status code" pairs, where AWS's answer is not documented
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	srv := testserver.InProcess(t, testserver.Options{})
	c := newClient(srv)
	const bucket = "bad"
	c.createBucket(t, bucket)
	obj := genData(3, 1000)
	c.must(t, 200, http.MethodPut, "/"+bucket+"/obj", "", nil, obj)
	resp := c.must(t, 200, http.MethodPost, "/"+bucket+"/mp", "uploads", nil, nil)
	var ir initiateResult
	if err := unmarshalXML(resp.Body, &ir); err != nil {
		t.Fatal(err)
	}
	uploadQ := "uploadId=" + url.QueryEscape(ir.UploadID)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))

	now := time.Now().UTC()
	cred := srv.AccessKey + "/" + now.Format("20060102") + "/" + srv.Region + "/s3/aws4_request"
	hex64 := strings.Repeat("0", 64)
	var many []string
	for i := 0; i < 1000; i++ {
		many = append(many, fmt.Sprintf("h%04d", i))
	}
	hugeSigned := "host;x-amz-content-sha256;x-amz-date;" + strings.Join(many, ";")
	deleteXML := []byte(`<Delete><Object><Key>obj-none</Key></Object></Delete>`)
	var tooManyDeletes strings.Builder
	tooManyDeletes.WriteString("<Delete>")
	for i := 0; i < 1001; i++ {
		fmt.Fprintf(&tooManyDeletes, "<Object><Key>k%d</Key></Object>", i)
	}
	tooManyDeletes.WriteString("</Delete>")
	md5hdr := func(b []byte) http.Header { return http.Header{"Content-Md5": {md5B64(b)}} }
	get := func(path string) rawReq { return rawReq{method: http.MethodGet, path: path} }
	put := func(path string, body []byte) rawReq { return rawReq{method: http.MethodPut, path: path, body: body} }

	rows := []badRow{
		// Malformed XML bodies.
		{"CompleteMultipartUpload: unterminated XML", rawReq{method: "POST", path: "/bad/mp", query: uploadQ, body: []byte("<CompleteMultipartUpload><Part><PartNumber>1")}, 400, "MalformedXML", nil},
		{"CompleteMultipartUpload: not XML", rawReq{method: "POST", path: "/bad/mp", query: uploadQ, body: []byte("hello, world")}, 400, "MalformedXML", nil},
		{"CompleteMultipartUpload: no parts", rawReq{method: "POST", path: "/bad/mp", query: uploadQ, body: []byte("<CompleteMultipartUpload></CompleteMultipartUpload>")}, 400, "MalformedXML", nil},
		{"CompleteMultipartUpload: empty body", rawReq{method: "POST", path: "/bad/mp", query: uploadQ}, 400, "MalformedXML", nil},
		{"CompleteMultipartUpload: part number not a number", rawReq{method: "POST", path: "/bad/mp", query: uploadQ, body: []byte(`<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`)}, 400, "MalformedXML", nil},
		{"CompleteMultipartUpload: unknown upload", rawReq{method: "POST", path: "/bad/mp", query: "uploadId=nope", body: completeXML([]string{"x"})}, 404, "NoSuchUpload", nil},
		{"DeleteObjects: unterminated XML", rawReq{method: "POST", path: "/bad", query: "delete", body: []byte("<Delete><Object><Key>a"), hdr: md5hdr([]byte("<Delete><Object><Key>a"))}, 400, "MalformedXML", nil},
		{"DeleteObjects: wrong root element", rawReq{method: "POST", path: "/bad", query: "delete", body: []byte("<Foo/>"), hdr: md5hdr([]byte("<Foo/>"))}, 400, "MalformedXML", nil},
		{"DeleteObjects: 1001 keys", rawReq{method: "POST", path: "/bad", query: "delete", body: []byte(tooManyDeletes.String()), hdr: md5hdr([]byte(tooManyDeletes.String()))}, 400, "MalformedXML", nil},
		{"DeleteObjects: no Content-MD5 or checksum", rawReq{method: "POST", path: "/bad", query: "delete", body: deleteXML}, 400, "InvalidRequest", nil},
		{"CreateBucket: unterminated XML", rawReq{method: "PUT", path: "/new-bucket-1", body: []byte("<CreateBucketConfiguration><LocationConstraint>")}, 400, "MalformedXML", nil},
		{"CreateBucket: wrong root element", rawReq{method: "PUT", path: "/new-bucket-2", body: []byte("<Foo><Bar/></Foo>")}, 400, "MalformedXML", nil},
		{"CreateBucket: binary body", rawReq{method: "PUT", path: "/new-bucket-3", body: genData(4, 300)}, 400, "MalformedXML", nil},

		// Garbage Authorization headers.
		{"Authorization: random bytes", rawReq{method: "GET", path: "/bad/obj", post: setAuthz(garbage(rng, 200))}, 400, "InvalidArgument", nil},
		{"Authorization: algorithm only", rawReq{method: "GET", path: "/bad/obj", post: setAuthz("AWS4-HMAC-SHA256")}, 400, "AuthorizationHeaderMalformed", nil},
		{"Authorization: truncated credential", rawReq{method: "GET", path: "/bad/obj", post: setAuthz("AWS4-HMAC-SHA256 Credential=" + srv.AccessKey + "/2024")}, 400, "AuthorizationHeaderMalformed", nil},
		{"Authorization: truncated after SignedHeaders", rawReq{method: "GET", path: "/bad/obj", post: setAuthz("AWS4-HMAC-SHA256 Credential=" + cred + ", SignedHeaders=host;x-amz-date")}, 400, "AuthorizationHeaderMalformed", nil},
		{"Authorization: wrong algorithm", rawReq{method: "GET", path: "/bad/obj", post: setAuthz(authzFor("AWS4-HMAC-SHA512", cred, "host;x-amz-content-sha256;x-amz-date", hex64))}, 400, "InvalidArgument", nil},
		{"Authorization: huge SignedHeaders list", rawReq{method: "GET", path: "/bad/obj", post: setAuthz(authzFor("AWS4-HMAC-SHA256", cred, hugeSigned, hex64))}, 400, "AuthorizationHeaderMalformed", []string{"403 SignatureDoesNotMatch"}},
		{"Authorization: non-hex signature", rawReq{method: "GET", path: "/bad/obj", post: setAuthz(authzFor("AWS4-HMAC-SHA256", cred, "host;x-amz-content-sha256;x-amz-date", strings.Repeat("z", 64)))}, 403, "SignatureDoesNotMatch", nil},
		{"Authorization: short signature", rawReq{method: "GET", path: "/bad/obj", post: setAuthz(authzFor("AWS4-HMAC-SHA256", cred, "host;x-amz-content-sha256;x-amz-date", "abc"))}, 403, "SignatureDoesNotMatch", nil},
		{"Authorization: unknown access key", rawReq{method: "GET", path: "/bad/obj", accessKey: "AKIANOSUCHKEY0000000"}, 403, "InvalidAccessKeyId", nil},
		{"Authorization: host not signed", rawReq{method: "GET", path: "/bad/obj", post: setAuthz(authzFor("AWS4-HMAC-SHA256", cred, "x-amz-content-sha256;x-amz-date", hex64))}, 400, "AuthorizationHeaderMalformed", nil},
		{"credential scope: wrong region", rawReq{method: "GET", path: "/bad/obj", region: "eu-west-3"}, 400, "AuthorizationHeaderMalformed", nil},
		{"credential scope: wrong service", rawReq{method: "GET", path: "/bad/obj", service: "ec2"}, 400, "AuthorizationHeaderMalformed", nil},
		{"x-amz-* header not signed", rawReq{method: "GET", path: "/bad/obj", post: func(h http.Header) { h.Set("X-Amz-Meta-Sneaky", "1") }}, 403, "AccessDenied", nil},
		{"Authorization header and presigned query", rawReq{method: "GET", path: "/bad/obj", query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=" + hex64}, 400, "InvalidArgument", nil},
		{"x-amz-content-sha256 missing", rawReq{method: "GET", path: "/bad/obj", post: func(h http.Header) { h.Del("X-Amz-Content-Sha256") }}, 400, "InvalidRequest", nil},
		{"x-amz-content-sha256 invalid", rawReq{method: "GET", path: "/bad/obj", payload: "not-a-hash"}, 400, "InvalidArgument", nil},

		// Anonymous requests.
		{"anonymous GET object", rawReq{method: "GET", path: "/bad/obj", anonymous: true}, 403, "AccessDenied", nil},
		{"anonymous PUT object", rawReq{method: "PUT", path: "/bad/anon", body: []byte("x"), anonymous: true}, 403, "AccessDenied", nil},
		{"anonymous ListBuckets", rawReq{method: "GET", path: "/", anonymous: true}, 403, "AccessDenied", nil},
		{"anonymous GET of a missing bucket", rawReq{method: "GET", path: "/no-such-bucket-x/k", anonymous: true}, 403, "AccessDenied", nil},

		// Dates.
		{"X-Amz-Date 20 minutes in the past", rawReq{method: "GET", path: "/bad/obj", at: time.Now().Add(-20 * time.Minute)}, 403, "RequestTimeTooSkewed", nil},
		{"X-Amz-Date 20 minutes in the future", rawReq{method: "GET", path: "/bad/obj", at: time.Now().Add(20 * time.Minute)}, 403, "RequestTimeTooSkewed", nil},
		{"X-Amz-Date malformed", rawReq{method: "GET", path: "/bad/obj", post: func(h http.Header) { h.Set("X-Amz-Date", "2024-01-01T00:00:00Z") }}, 403, "AccessDenied", nil},
		{"X-Amz-Date impossible", rawReq{method: "GET", path: "/bad/obj", post: func(h http.Header) { h.Set("X-Amz-Date", "20241399T256199Z") }}, 403, "AccessDenied", nil},

		// Header and body sizes.
		{"100 KiB header", rawReq{method: "GET", path: "/bad/obj", post: func(h http.Header) { h.Set("X-Big", strings.Repeat("a", 100<<10)) }}, 400, "RequestHeaderSectionTooLarge", nil},
		{"Content-Length larger than the body, then close", rawReq{method: "PUT", path: "/bad/trunc", body: obj, payload: "UNSIGNED-PAYLOAD", contentLength: 4000, closeWrite: true}, 400, "IncompleteBody", nil},
		{"body longer than the signed Content-Length", rawReq{method: "PUT", path: "/bad/long", body: obj, contentLength: 500}, 400, "XAmzContentSHA256Mismatch", nil},
		{"PUT without Content-Length (chunked)", rawReq{method: "PUT", path: "/bad/nocl", contentLength: -1, payload: "UNSIGNED-PAYLOAD",
			post: func(h http.Header) { h.Set("Transfer-Encoding", "chunked") }, send: []byte("3\r\nabc\r\n0\r\n\r\n")}, 411, "MissingContentLength", nil},
		{"user metadata over 2 KB", put("/bad/meta", []byte("x")).with(func(q *rawReq) {
			q.hdr = http.Header{"X-Amz-Meta-Big": {strings.Repeat("m", 2100)}}
		}), 400, "MetadataTooLarge", nil},

		// Names.
		{"key of 1025 bytes", put("/bad/"+strings.Repeat("k", 1025), []byte("x")), 400, "KeyTooLongError", nil},
		{"key with invalid UTF-8 (%FF)", put("/bad/a%FFb", []byte("x")), 400, "InvalidURI", nil},
		{"GET key with invalid UTF-8 (%C3%28)", get("/bad/%C3%28"), 400, "InvalidURI", nil},
		{"bucket name too short", put("/ab", nil), 400, "InvalidBucketName", nil},
		{"bucket name upper case", put("/UpperCase", nil), 400, "InvalidBucketName", nil},
		{"bucket name with underscore", put("/bad_name", nil), 400, "InvalidBucketName", nil},
		{"bucket name with two dots", put("/a..b", nil), 400, "InvalidBucketName", nil},
		{"bucket name like an IP address", put("/192.168.5.4", nil), 400, "InvalidBucketName", nil},
		{"bucket name starting with a dash", put("/-abc", nil), 400, "InvalidBucketName", nil},
		{"bucket name of 64 characters", put("/"+strings.Repeat("b", 64), nil), 400, "InvalidBucketName", nil},
		{"bucket name with xn-- prefix", put("/xn--abc", nil), 400, "InvalidBucketName", nil},
		{"missing bucket", get("/no-such-bucket-x/k"), 404, "NoSuchBucket", nil},
		{"missing key", get("/bad/no-such-key"), 404, "NoSuchKey", nil},

		// Query parameters.
		{"part number 10001", rawReq{method: "PUT", path: "/bad/mp", query: "partNumber=10001&" + uploadQ, body: []byte("x")}, 400, "InvalidArgument", nil},
		{"part number not a number", rawReq{method: "PUT", path: "/bad/mp", query: "partNumber=abc&" + uploadQ, body: []byte("x")}, 400, "InvalidArgument", nil},
		{"unsatisfiable range", get("/bad/obj").with(func(q *rawReq) { q.hdr = http.Header{"Range": {"bytes=5000-"}} }), 416, "InvalidRange", nil},
		{"max-keys negative", rawReq{method: "GET", path: "/bad", query: "list-type=2&max-keys=-1"}, 400, "InvalidArgument", nil},
		{"unknown sub-resource on an object GET is ignored", rawReq{method: "GET", path: "/bad/obj", query: "no-such-subresource"}, 200, "", nil},
		{"unknown sub-resource on a bucket GET is ignored", rawReq{method: "GET", path: "/bad", query: "frobnicate=1"}, 200, "", nil},
		{"unknown sub-resource on a PUT is ignored", rawReq{method: "PUT", path: "/bad/sub", query: "whatever", body: []byte("y")}, 200, "", nil},
	}

	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			res := rawExchange(srv.Addr, c.build(row.req), row.req.closeWrite, 15*time.Second)
			if res.err != nil {
				t.Fatalf("no response (hang or dropped connection): %v", res.err)
			}
			checkBadResponse(t, row, res.resp)
		})
	}

	// An unsigned body longer than its Content-Length: S3 (like any HTTP/1.1
	// server) stores exactly Content-Length bytes and reads the rest as the
	// next request, which is garbage: a 4xx and a closed connection.
	t.Run("body longer than an unsigned Content-Length", func(t *testing.T) {
		data := append(append([]byte{}, obj[:500]...), append(bytes.Repeat([]byte("Z"), 496), "\r\n\r\n"...)...)
		req := c.build(rawReq{method: "PUT", path: "/bad/overlong", body: data, payload: "UNSIGNED-PAYLOAD", contentLength: 500})
		conn, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		conn.Write(req)
		br := bufio.NewReader(conn)
		first, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("first response: %v", err)
		}
		io.Copy(io.Discard, first.Body)
		first.Body.Close()
		if first.StatusCode != 200 {
			t.Errorf("PUT of the first 500 bytes: %d", first.StatusCode)
		}
		second, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Errorf("no answer to the trailing garbage: %v", err)
		} else {
			if second.StatusCode < 400 || second.StatusCode >= 500 {
				t.Errorf("trailing garbage answered with %d, want a 4xx", second.StatusCode)
			}
			second.Body.Close()
		}
		got := c.must(t, 200, http.MethodGet, "/bad/overlong", "", nil, nil)
		if !bytes.Equal(got.Body, obj[:500]) {
			t.Errorf("stored %d bytes, want exactly the 500 declared", len(got.Body))
		}
	})

	// The server keeps serving, and the object is intact.
	checkHealthy(t, srv)
	if got := c.must(t, 200, http.MethodGet, "/bad/obj", "", nil, nil); !bytes.Equal(got.Body, obj) {
		t.Errorf("bucket object changed")
	}
	for _, k := range []string{"anon", "trunc", "long", "nocl", "meta"} {
		c.must(t, 404, http.MethodGet, "/bad/"+k, "", nil, nil)
	}
}

func (q rawReq) with(f func(*rawReq)) rawReq { f(&q); return q }

func checkBadResponse(t *testing.T, row badRow, resp *response) {
	t.Helper()
	if resp.Status >= 500 {
		t.Errorf("5xx: %s", resp)
		return
	}
	e := resp.s3err()
	got := fmt.Sprintf("%d %s", resp.Status, e.Code)
	want := fmt.Sprintf("%d %s", row.status, row.code)
	ok := got == want || (row.code == "" && resp.Status == row.status)
	for _, a := range row.alts {
		ok = ok || got == a
	}
	if !ok {
		t.Errorf("got %s; want %s", resp, want)
		return
	}
	if resp.Status >= 400 && row.code != "" {
		if e.Message == "" || e.RequestID == "" {
			t.Errorf("error document lacks Message or RequestId: %s", resp.Body)
		}
		if id := resp.Header.Get("x-amz-request-id"); id == "" || id != e.RequestID {
			t.Errorf("x-amz-request-id header %q, RequestId in body %q", id, e.RequestID)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "xml") {
			t.Errorf("error Content-Type %q", ct)
		}
	}
}

// TestFuzzSignedPut sends random mutations of a valid signed PUT over raw TCP.
// None may get a 5xx or hang, and the server must still be ready afterwards.
func TestFuzzSignedPut(t *testing.T) {
	t.Parallel()
	srv := testserver.InProcess(t, testserver.Options{})
	c := newClient(srv)
	c.createBucket(t, "fuzz")
	body := genData(5, 1024)
	base := c.build(rawReq{method: "PUT", path: "/fuzz/key-1", query: "x-id=PutObject", body: body,
		hdr: http.Header{"Content-Type": {"application/octet-stream"}, "X-Amz-Meta-A": {"b"}}})
	// Positive control: the unmutated request is accepted.
	if res := rawExchange(srv.Addr, base, false, 10*time.Second); res.err != nil || res.resp.Status != 200 {
		t.Fatalf("unmutated request: %v %v", res.err, res.resp)
	}
	headLen := bytes.Index(base, []byte("\r\n\r\n")) + 4
	// Mutations start after the method so that the method stays PUT, and
	// leave "HTTP/1.1" alone (net/http itself answers 505 to other versions).
	start := len("PUT ")
	proto := bytes.Index(base, []byte(" HTTP/1.1\r\n"))
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	const n = 500
	type outcome struct {
		i   int
		req []byte
		res rawResult
	}
	out := make(chan outcome, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				rng := rand.New(rand.NewPCG(seed, uint64(i)))
				req := mutate(rng, base, start, proto, headLen)
				out <- outcome{i, req, rawExchangeStall(srv.Addr, req, false, time.Second, 10*time.Second)}
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(out)
	statuses := map[int]int{}
	closed := 0
	bad := 0
	for o := range out {
		if o.res.err != nil {
			// A connection closed without a response is acceptable only as
			// net/http's answer to unparseable framing; a timeout is a hang.
			if isTimeout(o.res.err) {
				bad++
				t.Errorf("mutation %d hung: %v\nrequest head: %q", o.i, o.res.err, head(o.req))
			}
			closed++
			continue
		}
		statuses[o.res.resp.Status]++
		if o.res.resp.Status >= 500 {
			bad++
			if bad < 10 {
				t.Errorf("mutation %d: %s\nrequest head: %q", o.i, o.res.resp, head(o.req))
			}
		}
	}
	t.Logf("statuses %v, closed without response %d", statuses, closed)
	if statuses[200]+statuses[403]+statuses[400] == 0 {
		t.Errorf("mutations produced no ordinary responses at all: %v", statuses)
	}
	checkHealthy(t, srv)
	c.must(t, 200, http.MethodGet, "/fuzz/key-1", "", nil, nil)
}

var crlfcrlf = regexp.MustCompile("\r\n\r\n")

func head(req []byte) []byte {
	if loc := crlfcrlf.FindIndex(req); loc != nil {
		return req[:loc[0]]
	}
	return req[:min(len(req), 2000)]
}

func isTimeout(err error) bool {
	type timeout interface{ Timeout() bool }
	te, ok := err.(timeout)
	if ok && te.Timeout() {
		return true
	}
	return strings.Contains(err.Error(), "i/o timeout")
}

// mutate applies 1–4 random byte-level mutations to the request line (path
// and query) and the headers of base.
func mutate(rng *rand.Rand, base []byte, start, proto, headLen int) []byte {
	h := append([]byte{}, base[:headLen]...)
	b := base[headLen:]
	pick := func() int {
		for {
			i := start + rng.IntN(len(h)-4-start)
			if i < proto || i >= proto+len(" HTTP/1.1") {
				return i
			}
		}
	}
	for k := 1 + rng.IntN(4); k > 0; k-- {
		switch rng.IntN(7) {
		case 0: // flip a bit
			i := pick()
			h[i] ^= 1 << rng.IntN(8)
		case 1: // replace with a random printable byte
			h[pick()] = byte(0x21 + rng.IntN(94))
		case 2: // replace with an arbitrary byte
			h[pick()] = byte(rng.IntN(256))
		case 3: // delete a byte
			i := pick()
			h = append(h[:i], h[i+1:]...)
			if i < proto {
				proto--
			}
		case 4: // insert a byte
			i := pick()
			h = append(h[:i], append([]byte{byte(0x20 + rng.IntN(95))}, h[i:]...)...)
			if i < proto {
				proto++
			}
		case 5: // duplicate a random header line
			lines := bytes.Split(h[:len(h)-4], []byte("\r\n"))
			j := 1 + rng.IntN(len(lines)-1)
			lines = append(lines, lines[j])
			h = append(bytes.Join(lines, []byte("\r\n")), "\r\n\r\n"...)
		case 6: // change a digit (lengths, dates, part numbers)
			var digits []int
			for i := start; i < len(h)-4; i++ {
				if h[i] >= '0' && h[i] <= '9' && (i < proto || i >= proto+len(" HTTP/1.1")) {
					digits = append(digits, i)
				}
			}
			if len(digits) > 0 {
				h[digits[rng.IntN(len(digits))]] = byte('0' + rng.IntN(10))
			}
		}
	}
	return append(h, b...)
}
