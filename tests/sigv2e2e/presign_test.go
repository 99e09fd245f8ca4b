package sigv2e2e

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// TestAWSCLIPresign: `aws s3 presign` (CLI v1, default settings) prints a
// SigV2 URL that curl downloads; after its Expires the same URL is refused.
func TestAWSCLIPresign(t *testing.T) {
	t.Parallel()
	needTool(t, "aws")
	needTool(t, "curl")
	srv := testserver.Start(t, testserver.Options{})
	sdk := sdkClient(srv)
	b := s3test.NewBucket(t, sdk, "awsv2")
	body := s3test.RandBytes(1, 300_000)
	s3test.Put(t, sdk, b, "dir/object.bin", body)
	odd := []byte("a key with a space, a plus and non-ASCII\n")
	s3test.Put(t, sdk, b, "dir/hello world+ü.txt", odd)

	t.Run("Download", func(t *testing.T) {
		t.Parallel()
		before := time.Now().Unix()
		u := awsPresign(t, srv, b, "dir/object.bin")
		if exp := expiresOf(t, u); exp < before+3600-5 || exp > time.Now().Unix()+3600+5 {
			t.Errorf("default Expires %d, want about now+3600 (%d)", exp, before+3600)
		}
		st, got := curl(t, u)
		wantOK(t, "curl of aws s3 presign URL", st, got, body)
		st, got = get(t, u)
		wantOK(t, "net/http GET of aws s3 presign URL", st, got, body)
	})

	t.Run("OddKey", func(t *testing.T) {
		t.Parallel()
		u := awsPresign(t, srv, b, "dir/hello world+ü.txt")
		st, got := curl(t, u)
		wantOK(t, "curl of presigned URL for a key with space, plus, non-ASCII", st, got, odd)
	})

	t.Run("Expired", func(t *testing.T) {
		t.Parallel()
		u := awsPresign(t, srv, b, "dir/object.bin", "--expires-in", "2")
		exp := expiresOf(t, u)
		// Still valid right away (so the 403 below is about time, not a bad URL).
		if st, got := get(t, u); st != http.StatusOK && time.Now().Unix() < exp {
			t.Fatalf("fresh 2-second URL: status %d, want 200; body %s", st, shortBody(got))
		}
		time.Sleep(time.Until(time.Unix(exp+1, 200e6)))
		before := time.Now().Truncate(time.Second)
		st, got := curl(t, u)
		after := time.Now()
		e := wantErr(t, "curl of expired aws s3 presign URL", st, got, http.StatusForbidden, "AccessDenied")
		if e.Message != "Request has expired" {
			t.Errorf("Message %q, want %q", e.Message, "Request has expired")
		}
		if want := time.Unix(exp, 0).UTC().Format(time.RFC3339); e.Expires != want {
			t.Errorf("<Expires> %q, want %q", e.Expires, want)
		}
		st2, err := time.Parse(time.RFC3339, e.ServerTime)
		if err != nil {
			t.Fatalf("<ServerTime> %q: %v", e.ServerTime, err)
		}
		if !st2.After(time.Unix(exp, 0)) || st2.Before(before) || st2.After(after) {
			t.Errorf("<ServerTime> %s, want the current time, after Expires %s", e.ServerTime, e.Expires)
		}
	})
}

// TestSigV2ExpiryBound: a SigV2 URL whose Expires lies more than 7 days ahead
// is refused with a clear error; one within 7 days works.
func TestSigV2ExpiryBound(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	sdk := sdkClient(srv)
	b := s3test.NewBucket(t, sdk, "bound")
	body := []byte("bounded lifetime\n")
	s3test.Put(t, sdk, b, "k", body)
	sc := newS3cmd(t, srv, srv.Addr, srv.AccessKey, srv.SecretKey)

	tooLong := func(t *testing.T, who, u string) {
		t.Helper()
		st, got := curl(t, u)
		e := wantErr(t, who, st, got, http.StatusForbidden, "AccessDenied")
		for _, s := range []string{"Signature Version 2", "7 days", "Signature Version 4"} {
			if !strings.Contains(e.Message, s) {
				t.Errorf("%s: Message %q does not mention %q", who, e.Message, s)
			}
		}
		if e.MaxExpiresSeconds != "604800" {
			t.Errorf("%s: <MaxExpiresSeconds> %q, want 604800", who, e.MaxExpiresSeconds)
		}
		if want := time.Unix(expiresOf(t, u), 0).UTC().Format(time.RFC3339); e.Expires != want {
			t.Errorf("%s: <Expires> %q, want %q", who, e.Expires, want)
		}
	}

	t.Run("S3cmdTooLong", func(t *testing.T) {
		t.Parallel()
		tooLong(t, "s3cmd signurl +700000", sc.signurl(t, b, "k", 700000))
	})
	t.Run("Boto3TooLong", func(t *testing.T) {
		t.Parallel()
		// botocore's HmacV1QueryAuth, the signer behind signature_version='s3'.
		var out struct{ URL string }
		python(t, srv, `
from botocore.auth import HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
req = AWSRequest(method='GET', url=a['endpoint'] + '/' + a['bucket'] + '/k')
HmacV1QueryAuth(Credentials(a['ak'], a['sk']), expires=8*86400).add_auth(req)
print(json.dumps({'URL': req.url}))
`, botoArgs(srv, map[string]any{"bucket": b}), &out)
		wantSigV2URL(t, "HmacV1QueryAuth", out.URL)
		tooLong(t, "HmacV1QueryAuth, 8 days", out.URL)
	})
	t.Run("WithinSevenDays", func(t *testing.T) {
		t.Parallel()
		for _, secs := range []int{600000, 604800 - 30} {
			u := sc.signurl(t, b, "k", secs)
			st, got := curl(t, u)
			wantOK(t, "s3cmd signurl +"+strconv.Itoa(secs), st, got, body)
		}
	})
}

// TestSigV2SlowDownload: expiry is checked when the request arrives, so a
// download that started in time finishes even though the URL expires while
// the body is still being sent.
func TestSigV2SlowDownload(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	sdk := sdkClient(srv)
	b := s3test.NewBucket(t, sdk, "slow")
	body := s3test.RandBytes(7, 24*mib) // far more than the socket buffers hold
	s3test.Put(t, sdk, b, "big.bin", body)

	// A small receive buffer, so that the server is still writing the body
	// when the URL expires rather than having handed it all to the kernel.
	dialer := &net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10)
		}); err != nil {
			return err
		}
		return serr
	}}
	hc := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, DisableCompression: true}, Timeout: time.Minute}

	var (
		u    string
		exp  time.Time
		resp *http.Response
	)
	for attempt := 1; resp == nil; attempt++ {
		u = awsPresign(t, srv, b, "big.bin", "--expires-in", "2")
		exp = time.Unix(expiresOf(t, u), 0)
		sent := time.Now()
		r, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode == http.StatusOK {
			resp = r
			break
		}
		rb, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if sent.Before(exp.Add(-500 * time.Millisecond)) {
			t.Fatalf("GET of a fresh 2-second URL, sent %v before Expires: status %d; body %s", exp.Sub(sent), r.StatusCode, shortBody(rb))
		}
		// The CLI took so long that the URL was (nearly) expired when sent.
		if attempt == 3 {
			t.Fatalf("three 2-second URLs were expired before they could be used; the machine is too slow for this test (last: %d %s)", r.StatusCode, shortBody(rb))
		}
		t.Logf("attempt %d: URL sent %v before Expires came back %d; retrying", attempt, exp.Sub(sent), r.StatusCode)
	}
	defer resp.Body.Close()
	// Read at a pace that ends 1.5 s after Expires.
	start, end := time.Now(), exp.Add(1500*time.Millisecond)
	got := make([]byte, 0, len(body))
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the body after %d bytes, %v after Expires: %v", len(got), time.Since(exp), err)
		}
		frac := float64(len(got)) / float64(len(body))
		time.Sleep(time.Until(start.Add(time.Duration(frac * float64(end.Sub(start))))))
	}
	if !time.Now().After(exp) {
		t.Fatalf("the download ended before Expires; the test proves nothing")
	}
	equalBytes(t, "slow download across Expires", got, body)

	// The URL really has expired.
	st, rb := get(t, u)
	if e := wantErr(t, "same URL after the download", st, rb, http.StatusForbidden, "AccessDenied"); e.Message != "Request has expired" {
		t.Errorf("Message %q, want Request has expired", e.Message)
	}
}

// TestSigV2Tampering: any change to a signed part of a SigV2 URL gives 403
// SignatureDoesNotMatch with the StringToSign the server computed; an unknown
// access key gives InvalidAccessKeyId.
func TestSigV2Tampering(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	sdk := sdkClient(srv)
	b := s3test.NewBucket(t, sdk, "tamper")
	body, other := []byte("the signed object\n"), []byte("another object\n")
	s3test.Put(t, sdk, b, "k", body)
	s3test.Put(t, sdk, b, "k2", other)
	u := awsPresign(t, srv, b, "k")
	exp := strconv.FormatInt(expiresOf(t, u), 10)
	pu, _ := url.Parse(u)
	sig := pu.Query().Get("Signature")

	// The untouched URL works, so every failure below is the tampering's.
	st, got := get(t, u)
	wantOK(t, "untouched URL", st, got, body)

	// mismatch checks the error and that its StringToSign is want.
	mismatch := func(t *testing.T, what string, st int, rb []byte, want string) s3test.ErrorBody {
		t.Helper()
		e := wantErr(t, what, st, rb, http.StatusForbidden, "SignatureDoesNotMatch")
		if e.StringToSign != want {
			t.Errorf("%s: <StringToSign> %q, want %q", what, e.StringToSign, want)
		}
		if e.AWSAccessKeyId != srv.AccessKey {
			t.Errorf("%s: <AWSAccessKeyId> %q, want %q", what, e.AWSAccessKeyId, srv.AccessKey)
		}
		if !strings.Contains(e.Message, "does not match") {
			t.Errorf("%s: Message %q", what, e.Message)
		}
		return e
	}

	t.Run("Key", func(t *testing.T) {
		v := strings.Replace(u, "/"+b+"/k?", "/"+b+"/k2?", 1)
		st, rb := get(t, v)
		mismatch(t, "key changed to k2", st, rb, "GET\n\n\n"+exp+"\n/"+b+"/k2")
	})
	t.Run("Method", func(t *testing.T) {
		st, _, rb := do(t, http.MethodDelete, u, nil, nil)
		mismatch(t, "DELETE with a GET URL", st, rb, "DELETE\n\n\n"+exp+"\n/"+b+"/k")
		st, _, rb = do(t, http.MethodPut, u, strings.NewReader("overwritten"), http.Header{"Content-Type": {"text/plain"}})
		mismatch(t, "PUT with a GET URL", st, rb, "PUT\n\ntext/plain\n"+exp+"\n/"+b+"/k")
		if got, err := s3test.GetObject(s3test.Ctx(t), sdk, b, "k"); err != nil {
			t.Fatalf("object after tampered DELETE/PUT: %v", err)
		} else {
			equalBytes(t, "object after tampered DELETE/PUT", got, body)
		}
	})
	t.Run("Expires", func(t *testing.T) {
		later := strconv.FormatInt(expiresOf(t, u)+60, 10)
		st, rb := get(t, setQuery(t, u, "Expires", later))
		mismatch(t, "Expires moved 60 s later", st, rb, "GET\n\n\n"+later+"\n/"+b+"/k")
	})
	t.Run("Signature", func(t *testing.T) {
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(raw) != sha1.Size {
			t.Fatalf("Signature %q is not base64 HMAC-SHA1 (%v)", sig, err)
		}
		raw[0] ^= 1
		bad := base64.StdEncoding.EncodeToString(raw)
		st, rb := get(t, setQuery(t, u, "Signature", bad))
		want := "GET\n\n\n" + exp + "\n/" + b + "/k"
		e := mismatch(t, "signature changed", st, rb, want)
		// The StringToSign the server reports is what the client signed.
		m := hmac.New(sha1.New, []byte(srv.SecretKey))
		m.Write([]byte(want))
		if got := base64.StdEncoding.EncodeToString(m.Sum(nil)); got != sig {
			t.Errorf("HMAC-SHA1 of the reported StringToSign is %s, but the CLI signed %s", got, sig)
		}
		if e.SignatureProvided != bad {
			t.Errorf("<SignatureProvided> %q, want %q", e.SignatureProvided, bad)
		}
	})
	t.Run("UnknownKey", func(t *testing.T) {
		st, rb := get(t, setQuery(t, u, "AWSAccessKeyId", "AKIAUNKNOWNKEY000000"))
		wantErr(t, "unknown AWSAccessKeyId", st, rb, http.StatusForbidden, "InvalidAccessKeyId")
	})
	t.Run("WrongSecretHeaderAuth", func(t *testing.T) {
		sc := newS3cmd(t, srv, srv.Addr, srv.AccessKey, "not/the/right/secret/key/0000000000000")
		// ls, not get: s3cmd get starts with a HEAD, whose 403 has no body.
		out, errs, code := sc.run(t, "--signature-v2", "ls", "s3://"+b)
		if code == 0 || !strings.Contains(errs, "403 (SignatureDoesNotMatch)") {
			t.Errorf("s3cmd --signature-v2 ls with a wrong secret: exit %d, stdout %q, stderr %q; want 403 SignatureDoesNotMatch", code, out, errs)
		}
	})
}
