package shares

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

func s3Policy(bucket string, extra ...string) string {
	stmts := []string{`{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::` + bucket + `","arn:aws:s3:::` + bucket + `/*"]}`}
	stmts = append(stmts, extra...)
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

// TestAuthorization: the postern: actions decide who makes, lists and
// revokes shares; a share can do no more than its creator may now; a
// share's URL cannot be widened.
func TestAuthorization(t *testing.T) {
	srv := startServer(t)
	root := rootCreds(srv)
	c := s3Client(srv, root)
	bucket := s3test.NewBucket(t, c, "share")
	other := s3test.NewBucket(t, c, "other")
	s3test.Put(t, c, bucket, "a.txt", []byte("aaa"))
	s3test.Put(t, c, bucket, "b.txt", []byte("bbb"))
	s3test.Put(t, c, other, "a.txt", []byte("other"))

	create := `{"Effect":"Allow","Action":"postern:CreateShare","Resource":"arn:aws:s3:::` + bucket + `/*"}`
	// s3:* does not cover postern: actions.
	dave := newUser(t, srv, "dave", s3Policy(bucket))
	status, body := api(t, srv, dave, "POST", "/_postern/shares", mustJSON(t, map[string]any{"bucket": bucket, "key": "a.txt"}))
	wantAPIError(t, "CreateShare without postern:CreateShare", status, body, 403, "AccessDenied")

	alice := newUser(t, srv, "alice", s3Policy(bucket, create))
	bob := newUser(t, srv, "bob", s3Policy(bucket, create))
	admin := newUser(t, srv, "admin", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"postern:RevokeShare","Resource":"arn:aws:s3:::`+bucket+`/*"}]}`)
	boss := newUser(t, srv, "boss", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)

	// A user may not make a share of what it may not read.
	status, body = api(t, srv, alice, "POST", "/_postern/shares", mustJSON(t, map[string]any{"bucket": other, "key": "a.txt"}))
	wantAPIError(t, "CreateShare on a bucket the creator may not read", status, body, 403, "AccessDenied")
	// A Deny on postern:ExpiresIn bounds links.
	putPolicy(t, srv, "alice", "bound", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"postern:CreateShare","Resource":"*","Condition":{"NumericGreaterThan":{"postern:ExpiresIn":"86400"}}}]}`)
	status, body = api(t, srv, alice, "POST", "/_postern/shares", mustJSON(t, map[string]any{"bucket": bucket, "key": "a.txt", "expiresIn": 86401}))
	wantAPIError(t, "CreateShare past a policy's postern:ExpiresIn", status, body, 403, "AccessDenied")

	aliceShare := createAs(t, srv, alice, bucket, "a.txt")
	aliceShare2 := createAs(t, srv, alice, bucket, "b.txt")
	bobShare := createAs(t, srv, bob, bucket, "a.txt")
	if aliceShare.Creator != "arn:aws:iam::000000000000:user/alice" {
		t.Errorf("creator %q", aliceShare.Creator)
	}

	// Own shares: listed, read and revoked without postern: permissions.
	if ids := listIDs(t, srv, bob, ""); len(ids) != 1 || ids[0] != bobShare.ID {
		t.Errorf("bob's own list: %v", ids)
	}
	status, body = api(t, srv, bob, "GET", "/_postern/shares?all=true", nil)
	wantAPIError(t, "ListShares all=true without postern:ListShares", status, body, 403, "AccessDenied")
	status, body = api(t, srv, bob, "GET", "/_postern/shares/"+aliceShare.ID, nil)
	wantAPIError(t, "GetShare of another's share", status, body, 403, "AccessDenied")
	status, body = api(t, srv, bob, "DELETE", "/_postern/shares/"+aliceShare.ID, nil)
	wantAPIError(t, "RevokeShare of another's share", status, body, 403, "AccessDenied")
	revoke(t, srv, bob, bobShare.ID)
	// An admin allowed postern:RevokeShare on the bucket's objects may.
	if got := revoke(t, srv, admin, aliceShare2.ID); got.RevokedBy != "arn:aws:iam::000000000000:user/admin" {
		t.Errorf("revoked by %q", got.RevokedBy)
	}
	// "Action": "*" covers the postern: actions; root sees every share.
	if ids := listIDs(t, srv, boss, "?all=true"); len(ids) != 3 {
		t.Errorf("boss's all=true list: %v", ids)
	}
	if ids := listIDs(t, srv, root, "?all=true&bucket="+bucket+"&limit=2"); len(ids) != 2 {
		t.Errorf("root's first page of 2: %v", ids)
	}
	status, body = api(t, srv, root, "GET", "/_postern/shares/shr-aaaaaaaaaaaaaaaaaaaa", nil)
	wantAPIError(t, "GetShare of an unknown id", status, body, 404, "NoSuchShare")

	// Widening the URL.
	hc := plain(srv)
	if r := do(t, hc, "GET", aliceShare.URL, nil, nil); r.Status != 200 || string(r.Body) != "aaa" {
		t.Fatalf("alice's share: %d %s", r.Status, r.Body)
	}
	u, _ := url.Parse(aliceShare.URL)
	for name, try := range map[string]func() response{
		"other key": func() response {
			return do(t, hc, "GET", strings.Replace(aliceShare.URL, "/a.txt?", "/b.txt?", 1), nil, nil)
		},
		"other bucket": func() response {
			return do(t, hc, "GET", strings.Replace(aliceShare.URL, "/"+bucket+"/", "/"+other+"/", 1), nil, nil)
		},
		"PUT":       func() response { return do(t, hc, "PUT", aliceShare.URL, nil, []byte("x")) },
		"DELETE":    func() response { return do(t, hc, "DELETE", aliceShare.URL, nil, nil) },
		"HEAD":      func() response { return do(t, hc, "HEAD", aliceShare.URL, nil, nil) },
		"versionId": func() response { return do(t, hc, "GET", aliceShare.URL+"&versionId=null", nil, nil) },
		"list":      func() response { return do(t, hc, "GET", u.Scheme+"://"+u.Host+"/"+bucket+"?"+u.RawQuery, nil, nil) },
	} {
		if r := try(); r.Status != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", name, r.Status, r.Body)
		}
	}
	got, _ := s3test.Get(t, c, bucket, "a.txt")
	if string(got) != "aaa" {
		t.Errorf("a.txt changed: %q", got)
	}

	// The creator's current permissions: losing s3:GetObject stops the share.
	deletePolicy(t, srv, "alice", "p")
	r := do(t, hc, "GET", aliceShare.URL, nil, nil)
	wantS3Error(t, "share of a creator without s3:GetObject", r, 403, "AccessDenied", "")
	putPolicy(t, srv, "alice", "p", s3Policy(bucket))
	if r := do(t, hc, "GET", aliceShare.URL, nil, nil); r.Status != 200 {
		t.Errorf("share after the policy is back: %d", r.Status)
	}

	// A share's key cannot call the API (its secret is never shown, but
	// the server must refuse it all the same), nor can unsigned requests.
	if r := do(t, hc, "GET", srv.URL+"/_postern/shares", nil, nil); r.Status != 403 {
		t.Errorf("unsigned ListShares: %d %s", r.Status, r.Body)
	}
}

func createAs(t testing.TB, srv *testserver.Server, c creds, bucket, key string) shareOut {
	t.Helper()
	return create(t, srv, c, map[string]any{"bucket": bucket, "key": key})
}

func listIDs(t testing.TB, srv *testserver.Server, c creds, query string) []string {
	t.Helper()
	status, body := api(t, srv, c, "GET", "/_postern/shares"+query, nil)
	if status != 200 {
		t.Fatalf("ListShares%s: %d %s", query, status, body)
	}
	var out struct {
		Shares []shareOut `json:"shares"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range out.Shares {
		ids = append(ids, s.ID)
	}
	return ids
}
