package console

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fakeShareAPI answers the share API's requests (docs/api.md) for fakeAPI.
func fakeShareAPI(w http.ResponseWriter, r *http.Request, body []byte, now time.Time) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/_postern/shares":
		var in map[string]any
		if r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &in) != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"code":"MalformedJSON","message":"bad body"}}`)
			return
		}
		in["id"] = "shr-abcdefghijklmnopqrst"
		in["url"] = in["endpoint"].(string) + "/" + in["bucket"].(string) + "/" + in["key"].(string) + "?X-Amz-Credential=PSHR"
		in["expiresAt"] = now.Add(time.Duration(in["expiresIn"].(float64)) * time.Second).UTC().Format(time.RFC3339)
		if in["note"] == "server caps" {
			in["expiresAt"] = now.Add(time.Minute).UTC().Format(time.RFC3339)
		}
		in["state"] = "active"
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(in)
	case r.Method == http.MethodGet && r.URL.Path == "/_postern/shares":
		json.NewEncoder(w).Encode(map[string]any{"shares": []map[string]any{{"id": "shr-abcdefghijklmnopqrst", "state": "used up", "note": "<b>x</b>"}},
			"query": r.URL.RawQuery})
	case r.Method == http.MethodGet && r.URL.Path == "/_postern/shares/shr-abcdefghijklmnopqrst":
		io.WriteString(w, `{"id":"shr-abcdefghijklmnopqrst","audit":[{"status":200}],"auditTotal":1}`)
	default:
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"error":{"code":"AccessDenied","message":"You may not revoke this share."}}`)
	}
}

func TestTrackedShareOps(t *testing.T) {
	h, _, api := newTestConsole(t)
	c := &client{t: t, h: h}
	if w := c.signIn(); w.Code != 200 {
		t.Fatalf("sign in: %d %s", w.Code, w.Body)
	}

	w := c.post("/console/api/createShare", `{"bucket":"b1","key":"dir/a b.txt","seconds":600,"maxUses":1,"note":" for Alice ","webhook":""}`)
	if w.Code != 200 {
		t.Fatalf("createShare: %d %s", w.Code, w.Body)
	}
	var res struct {
		Link  shareResult    `json:"link"`
		Share map[string]any `json:"share"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.Link.URL != "http://127.0.0.1:9000/b1/dir/a b.txt?X-Amz-Credential=PSHR" || res.Link.Seconds != 600 || len(res.Link.QR) == 0 ||
		res.Share["id"] != "shr-abcdefghijklmnopqrst" {
		t.Errorf("createShare answer %s", w.Body)
	}
	// What the share API received: a signed request (fakeAPI verified it) with the API's fields.
	req := api.seen[len(api.seen)-1]
	if req.Method != "POST" || req.URL.Path != "/_postern/shares" || !strings.Contains(req.Header.Get("Authorization"), "/us-east-1/s3/aws4_request") {
		t.Errorf("upstream request %s %s %v", req.Method, req.URL, req.Header)
	}
	sent, _ := io.ReadAll(req.Body)
	var in map[string]any
	json.Unmarshal(sent, &in)
	if in["method"] != "GET" || in["maxUses"] != float64(1) || in["note"] != "for Alice" || in["expiresIn"] != float64(600) || in["endpoint"] != "http://127.0.0.1:9000" {
		t.Errorf("CreateShare body %s", sent)
	}

	// A server that shortens the link: the dialog shows its expiry.
	w = c.post("/console/api/createShare", `{"bucket":"b1","key":"k","seconds":3600,"note":"server caps"}`)
	json.Unmarshal(w.Body.Bytes(), &res)
	if w.Code != 200 || res.Link.Seconds != 60 || !res.Link.Capped || res.Link.CapReason == "" || res.Link.Expires != "2025-03-01T12:01:00Z" {
		t.Errorf("createShare capped by the server: %d %s", w.Code, w.Body)
	}

	for _, bad := range []string{
		`{"bucket":"b1","key":"k","seconds":0}`,
		`{"bucket":"b1","key":"k","seconds":60,"maxUses":-1}`,
		`{"bucket":"b1","key":"","seconds":60}`,
		`{"bucket":"b1","key":"k","seconds":60,"filename":"x"}`,
	} {
		if w := c.post("/console/api/createShare", bad); w.Code != 400 {
			t.Errorf("createShare %s: %d %s", bad, w.Code, w.Body)
		}
	}

	w = c.post("/console/api/listShares", `{"all":true,"after":"shr-aaaa"}`)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"query":"after=shr-aaaa\u0026all=true"`) || !strings.Contains(w.Body.String(), `\u003cb\u003ex`) {
		t.Errorf("listShares: %d %s", w.Code, w.Body)
	}
	if w := c.post("/console/api/getShare", `{"id":"shr-abcdefghijklmnopqrst"}`); w.Code != 200 || !strings.Contains(w.Body.String(), `"auditTotal":1`) {
		t.Errorf("getShare: %d %s", w.Code, w.Body)
	}
	// The share API's JSON error reaches the page verbatim.
	w = c.post("/console/api/revokeShare", `{"id":"shr-abcdefghijklmnopqrst"}`)
	if w.Code != 403 || !strings.Contains(w.Body.String(), `"code":"AccessDenied"`) || !strings.Contains(w.Body.String(), "You may not revoke this share.") ||
		!strings.Contains(w.Body.String(), `"operation":"RevokeShare"`) {
		t.Errorf("revokeShare refused: %d %s", w.Code, w.Body)
	}
	// Ids that would name another path never leave the console.
	n := len(api.seen)
	for _, id := range []string{"", "shr-", "shr-../../b1", "shr-a/b", "shr-a?all=true", "SHR-ABC"} {
		body, _ := json.Marshal(map[string]string{"id": id})
		if w := c.post("/console/api/revokeShare", string(body)); w.Code != 400 {
			t.Errorf("revokeShare %q: %d %s", id, w.Code, w.Body)
		}
	}
	if w := c.post("/console/api/listShares", `{"after":"x/y"}`); w.Code != 400 {
		t.Errorf("listShares bad after: %d", w.Code)
	}
	if len(api.seen) != n {
		t.Errorf("%d requests sent upstream for bad ids", len(api.seen)-n)
	}
}
