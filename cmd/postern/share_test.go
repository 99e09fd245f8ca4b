package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCreateRequest(t *testing.T) {
	in, err := createRequest("s3://photos/2026/cat.jpg", "get", "1d", 5, 0, "", false, "for Alice", "https://hooks.example.com/p")
	if err != nil {
		t.Fatal(err)
	}
	want := createInput{Bucket: "photos", Key: "2026/cat.jpg", Method: "GET", ExpiresIn: 86400, MaxUses: 5, Note: "for Alice", Webhook: "https://hooks.example.com/p"}
	if in != want {
		t.Fatalf("got %+v, want %+v", in, want)
	}
	// POST takes a prefix, which may be empty.
	in, err = createRequest("s3://drop", "POST", "3600", 0, 1<<20, "image/png", true, "", "")
	if err != nil || in.Bucket != "drop" || in.Key != "" || in.MaxSize != 1<<20 || !in.Overwrite || in.ContentType != "image/png" {
		t.Fatalf("POST: %+v, %v", in, err)
	}
	body, _ := json.Marshal(in)
	if !strings.Contains(string(body), `"key":""`) || strings.Contains(string(body), "maxUses") {
		t.Errorf("POST body %s", body)
	}
	bad := []struct {
		uri, method, exp string
		uses, size       int64
		ct               string
		ow               bool
		note, hook       string
	}{
		{"s3://b/k", "DELETE", "60", 0, 0, "", false, "", ""},
		{"s3://b", "GET", "60", 0, 0, "", false, "", ""},
		{"s3://b/", "PUT", "60", 0, 0, "", false, "", ""},
		{"http://b/k", "GET", "60", 0, 0, "", false, "", ""},
		{"s3://b/k", "GET", "8d", 0, 0, "", false, "", ""},
		{"s3://b/k", "GET", "0", 0, 0, "", false, "", ""},
		{"s3://b/k", "GET", "60", -1, 0, "", false, "", ""},
		{"s3://b/k", "GET", "60", 1_000_000_001, 0, "", false, "", ""},
		{"s3://b/k", "PUT", "60", 0, -1, "", false, "", ""},
		{"s3://b/k", "GET", "60", 0, 10, "", false, "", ""},
		{"s3://b/k", "GET", "60", 0, 0, "text/plain", false, "", ""},
		{"s3://b/k", "GET", "60", 0, 0, "", true, "", ""},
		{"s3://b/k", "GET", "60", 0, 0, "", false, strings.Repeat("n", 1025), ""},
		{"s3://b/k", "GET", "60", 0, 0, "", false, "", "ftp://example.com/"},
		{"s3://b/k", "GET", "60", 0, 0, "", false, "", "https://"},
		{"s3://b/k", "GET", "60", 0, 0, "", false, "", "https://example.com/" + strings.Repeat("p", 2048)},
	}
	for _, c := range bad {
		_, err := createRequest(c.uri, c.method, c.exp, c.uses, c.size, c.ct, c.ow, c.note, c.hook)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("createRequest(%+v) = %v, want a usage error", c, err)
		}
	}
}

func TestListQuery(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"s3://photos":      "bucket=photos",
		"s3://photos/":     "bucket=photos",
		"s3://photos/2026": "bucket=photos&prefix=2026",
		"s3://p/a b&c":     "bucket=p&prefix=a+b%26c",
	} {
		q, err := listQuery(in, false)
		if err != nil || q.Encode() != want {
			t.Errorf("listQuery(%q) = %q, %v; want %q", in, q.Encode(), err, want)
		}
	}
	if q, _ := listQuery("", true); q.Encode() != "all=true" {
		t.Errorf("--all: %q", q.Encode())
	}
	for _, bad := range []string{"photos", "s3://", "s3:///x"} {
		if _, err := listQuery(bad, false); err == nil {
			t.Errorf("listQuery(%q) accepted", bad)
		}
	}
}

func TestCheckShareID(t *testing.T) {
	if _, err := checkShareID("shr-abcdefghijklmnopqrst"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "abc", "shr-../x", "shr-a/b", "shr-a?b", "SHR-ABC", "shr-" + strings.Repeat("a", 61)} {
		if _, err := checkShareID(bad); err == nil {
			t.Errorf("checkShareID(%q) accepted", bad)
		}
	}
}

func TestParseInterleaved(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 0, "")
	j := fs.Bool("json", false, "")
	pos, err := parseInterleaved(fs, []string{"--n", "3", "first", "--json", "second"})
	if err != nil || *n != 3 || !*j || strings.Join(pos, ",") != "first,second" {
		t.Fatalf("pos %v n %d json %v err %v", pos, *n, *j, err)
	}
	if _, err := parseInterleaved(fs, []string{"--nope"}); !errors.As(err, new(usageError)) {
		t.Errorf("unknown flag: %v", err)
	}
	if _, err := parseInterleaved(fs, []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestAnswerError(t *testing.T) {
	e := answerError(403, []byte(`{"error":{"code":"AccessDenied","message":"You may not revoke this share."}}`))
	if e.Code != "AccessDenied" || e.Message != "You may not revoke this share." || e.Error() != "AccessDenied: You may not revoke this share." {
		t.Errorf("JSON: %+v", e)
	}
	e = answerError(404, []byte(`<?xml version="1.0"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>`))
	if e.Code != "NoSuchBucket" {
		t.Errorf("XML: %+v", e)
	}
	e = answerError(502, []byte("<html>bad gateway</html>"))
	if e.Code != "BadGateway" || !strings.Contains(e.Message, "502") {
		t.Errorf("other: %+v", e)
	}
}

func TestCleanForTerminal(t *testing.T) {
	if got := clean("a\x1b[2Jb\tc\u009bd"); got != "a [2Jb c d" {
		t.Errorf("clean = %q", got)
	}
	if clean("") != "-" {
		t.Error("empty")
	}
}

// fakeShareAPI answers like the share API and records the requests.
func fakeShareAPI(t *testing.T) (*httptest.Server, *[]*http.Request) {
	var reqs []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		reqs = append(reqs, r)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/_postern/shares":
			var in createInput
			json.Unmarshal(body, &in)
			w.WriteHeader(201)
			out := map[string]any{"id": "shr-aaaaaaaaaaaaaaaaaaaa", "method": in.Method, "bucket": in.Bucket, "key": in.Key,
				"url": "http://x/" + in.Bucket + "/" + in.Key + "?X-Amz-Signature=1", "state": "active", "uses": 0, "maxUses": in.MaxUses}
			if in.Method == "POST" {
				out["url"] = "http://x/" + in.Bucket + "/"
				out["fields"] = map[string]string{"key": in.Key + "${filename}", "policy": "p"}
			}
			json.NewEncoder(w).Encode(out)
		case r.Method == "GET" && r.URL.Path == "/_postern/shares":
			if r.URL.Query().Get("after") == "" {
				io.WriteString(w, `{"shares":[{"id":"shr-aaaaaaaaaaaaaaaaaaaa","method":"GET","bucket":"b","key":"k","state":"used up","uses":1,"maxUses":1,"expiresAt":"2026-12-07T21:00:00Z","note":"for \u001b[2JAlice"}],"nextAfter":"shr-aaaaaaaaaaaaaaaaaaaa"}`)
				return
			}
			io.WriteString(w, `{"shares":[{"id":"shr-bbbbbbbbbbbbbbbbbbbb","method":"PUT","bucket":"b","key":"up","state":"active","uses":0,"maxUses":0,"expiresAt":"2026-12-07T21:00:00Z"}]}`)
		case r.Method == "GET" && r.URL.Path == "/_postern/shares/shr-aaaaaaaaaaaaaaaaaaaa":
			io.WriteString(w, `{"id":"shr-aaaaaaaaaaaaaaaaaaaa","method":"GET","bucket":"b","key":"k","state":"used up","uses":1,"maxUses":1,
				"audit":[{"time":"2026-12-07T20:00:00Z","source":"203.0.113.7","userAgent":"curl/8.5.0","method":"GET","status":200,"bytes":4096,"counted":true}],"auditTotal":1}`)
		case r.Method == "DELETE":
			w.WriteHeader(403)
			io.WriteString(w, `{"error":{"code":"AccessDenied","message":"You may not revoke this share."}}`)
		default:
			w.WriteHeader(404)
			io.WriteString(w, `{"error":{"code":"NoSuchShare","message":"no"}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &reqs
}

func TestShareCommandsAgainstFake(t *testing.T) {
	srv, reqs := fakeShareAPI(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEEXAMPLE00")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "the-token")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_REGION", "eu-west-3")
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	run := func(args ...string) (string, string, error) {
		var so, se bytes.Buffer
		err := runShare(args, &so, &se)
		return so.String(), se.String(), err
	}

	out, _, err := run("create", "s3://b/k", "--max-uses", "1", "--note", "hi")
	if err != nil || out != "http://x/b/k?X-Amz-Signature=1\n" {
		t.Fatalf("create: %q %v", out, err)
	}
	r := (*reqs)[len(*reqs)-1]
	auth := r.Header.Get("Authorization")
	if !strings.Contains(auth, "Credential=ASIAEXAMPLEEXAMPLE00/") || !strings.Contains(auth, "/eu-west-3/s3/aws4_request") ||
		!strings.Contains(auth, "x-amz-security-token") || r.Header.Get("X-Amz-Security-Token") != "the-token" ||
		r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Amz-Content-Sha256") == "" {
		t.Errorf("create request headers: %v", r.Header)
	}
	var in createInput
	json.NewDecoder(r.Body).Decode(&in)
	if in.Bucket != "b" || in.Key != "k" || in.MaxUses != 1 || in.Note != "hi" || in.ExpiresIn != 3600 || in.Method != "GET" {
		t.Errorf("create body %+v", in)
	}

	out, _, err = run("create", "--method", "POST", "s3://b/in/")
	var form struct {
		URL    string            `json:"url"`
		Fields map[string]string `json:"fields"`
	}
	if err != nil || json.Unmarshal([]byte(out), &form) != nil || form.URL != "http://x/b/" || form.Fields["key"] != "in/${filename}" {
		t.Fatalf("create POST: %q %v", out, err)
	}

	out, _, err = run("create", "s3://b/k", "--json")
	var obj map[string]any
	if err != nil || json.Unmarshal([]byte(out), &obj) != nil || obj["id"] != "shr-aaaaaaaaaaaaaaaaaaaa" || obj["url"] == nil {
		t.Fatalf("create --json: %q %v", out, err)
	}

	// list follows nextAfter; the table shows uses/max and no escape codes.
	out, _, err = run("list", "s3://b", "--all")
	if err != nil || !strings.Contains(out, "shr-aaaaaaaaaaaaaaaaaaaa") || !strings.Contains(out, "shr-bbbbbbbbbbbbbbbbbbbb") ||
		!strings.Contains(out, "used up") || !strings.Contains(out, "1/1") || !strings.Contains(out, "0/-") || strings.ContainsRune(out, 0x1b) {
		t.Fatalf("list: %q %v", out, err)
	}
	if q := (*reqs)[len(*reqs)-2].URL.Query(); q.Get("bucket") != "b" || q.Get("all") != "true" {
		t.Errorf("list query %v", q)
	}
	out, _, err = run("list", "--json")
	var list []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || list[1]["id"] != "shr-bbbbbbbbbbbbbbbbbbbb" {
		t.Fatalf("list --json: %q %v", out, err)
	}

	out, _, err = run("show", "shr-aaaaaaaaaaaaaaaaaaaa")
	if err != nil || !strings.Contains(out, "used up") || !strings.Contains(out, "1 of 1") || !strings.Contains(out, "203.0.113.7") || !strings.Contains(out, "curl/8.5.0") {
		t.Fatalf("show: %q %v", out, err)
	}

	_, _, err = run("revoke", "shr-aaaaaaaaaaaaaaaaaaaa")
	var ae *apiError
	if !errors.As(err, &ae) || ae.Code != "AccessDenied" || !strings.Contains(err.Error(), "You may not revoke this share.") {
		t.Fatalf("refused revoke: %v", err)
	}

	_, _, err = run("frobnicate")
	if !errors.As(err, new(usageError)) {
		t.Errorf("unknown command: %v", err)
	}
	n := len(*reqs)
	_, _, err = run("show", "../x")
	if !errors.As(err, new(usageError)) || len(*reqs) != n {
		t.Errorf("bad id: %v (requests sent: %d)", err, len(*reqs)-n)
	}
}
