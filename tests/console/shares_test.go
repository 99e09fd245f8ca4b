package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chromedp/chromedp"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// getShare reads a share through the share API (GET /_postern/shares/ID),
// signed with the server's root keys.
func getShare(t *testing.T, srv *testserver.Server, id string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/_postern/shares/"+id, nil)
	sum := sha256.Sum256(nil)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	creds := aws.Credentials{AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, "s3", srv.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil {
		t.Fatalf("GetShare %s: %d %s", id, resp.StatusCode, body)
	}
	return out
}

// waitAudit waits until the share's audit has n rows (they are written in
// batches off the request path).
func waitAudit(t *testing.T, srv *testserver.Server, id string, n int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		sh := getShare(t, srv, id)
		if total, _ := sh["auditTotal"].(float64); int(total) >= n {
			return sh
		}
		if time.Now().After(deadline) {
			t.Fatalf("share %s: audit has not reached %d rows: %v", id, n, sh)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSharesInBrowser: a tracked link made in the share dialog works once in
// the browser and then says it is used up; the Shares page shows it as
// "used up" with its use and audit rows; a second link revoked from the page
// answers 403 with the revoked message.
func TestSharesInBrowser(t *testing.T) {
	srv, base, b, dialogs := startConsole(t, 120*time.Second)
	s3c := s3test.Client(srv, s3test.Options{})
	s3test.CreateBucket(t, s3c, "reports")
	content := "quarterly numbers\n"
	// no-store: the browser's second open must reach the server, not its cache.
	if _, err := s3c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("reports"), Key: aws.String("q3.txt"),
		Body: strings.NewReader(content), ContentType: aws.String("text/plain"), CacheControl: aws.String("no-store")}); err != nil {
		t.Fatal(err)
	}
	b.signIn(base, srv.AccessKey, srv.SecretKey)

	// --- share as a tracked link with one use ---
	makeShare := func(maxUses, note string) (link, id string) {
		t.Helper()
		b.do("open bucket", chromedp.Navigate(base+"/console/#/b/reports/o/"))
		b.waitJS("listing", `document.querySelector('button[aria-label="Share q3.txt"]')`)
		b.click(`button[aria-label="Share q3.txt"]`)
		b.waitJS("share dialog", `document.querySelector("#dialog[open] #share-form")`)
		if !eval[bool](b, `document.querySelector("#share-tracked").checked && !document.querySelector("#tracked-fields").hidden`) {
			t.Fatal("the share dialog does not make a tracked link by default")
		}
		b.setValue("#share-max-uses", maxUses)
		b.setValue("#share-note", note)
		b.click("#share-create")
		b.waitJS("tracked link made", `document.querySelector("#share-url") && document.querySelector("#share-id .mono")`)
		link = eval[string](b, `document.querySelector("#share-url").value`)
		id = b.text("#share-id .mono")
		if !strings.HasPrefix(link, srv.URL+"/reports/q3.txt?") || !strings.Contains(link, "X-Amz-Credential=PSHR") || !strings.HasPrefix(id, "shr-") {
			t.Fatalf("tracked link %q, id %q", link, id)
		}
		b.waitJS("QR code", `document.querySelector("#dialog .qr-box svg.qr")`)
		if maxUses == "1" {
			b.shot("share-tracked")
		}
		b.do("close dialog", chromedp.KeyEvent("\x1b"))
		b.waitJS("dialog closed", `!document.querySelector("#dialog").open`)
		return link, id
	}
	link, id := makeShare("1", "for <b>Alice</b>")

	// --- the browser opens the link: the object; then again: used up ---
	open := func(u string) (int, string) {
		t.Helper()
		b.do("open link", chromedp.Navigate(u))
		b.waitJS("link loaded", `document.readyState === "complete" && performance.getEntriesByType("navigation").length > 0`)
		return eval[int](b, `performance.getEntriesByType("navigation")[0].responseStatus`), eval[string](b, `document.documentElement.textContent`)
	}
	if st, text := open(link); st != 200 || !strings.Contains(text, content[:len(content)-1]) {
		t.Fatalf("first open of the link: %d %q", st, text)
	}
	if st, text := open(link); st != 403 || !strings.Contains(text, "This share link has been used the maximum number of times.") {
		t.Fatalf("second open of a 1-use link: %d %q", st, text)
	}
	waitAudit(t, srv, id, 2)

	// --- the Shares page: used up, 1 / 1, the audit rows ---
	b.do("shares page", chromedp.Navigate(base+"/console/#/shares"))
	row := `document.querySelector('#shares tr[data-id="` + id + `"]')`
	b.waitJS("share listed", row)
	if got := eval[string](b, row+`.querySelector(".state-badge").textContent`); got != "used up" {
		t.Errorf("state on the Shares page %q, want used up", got)
	}
	cells := eval[[]string](b, `[...`+row+`.cells].map(c => c.textContent)`)
	if len(cells) < 6 || cells[2] != "1 / 1" || cells[3] == "never" || cells[5] != "for <b>Alice</b>" {
		t.Errorf("share row %q", cells)
	}
	if n := eval[int](b, `document.querySelectorAll("#shares b").length`); n != 0 {
		t.Error("the note was rendered as HTML")
	}
	b.click(`#shares tr[data-id="` + id + `"] button.audit-toggle`)
	audit := `document.querySelector('table.audit-table[data-id="` + id + `"]')`
	b.waitJS("audit rows", audit+` && `+audit+`.tBodies[0].rows.length === 2`)
	rows := eval[[][]string](b, `[...`+audit+`.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent))`)
	// Newest first: the refused request, then the download.
	if rows[0][4] != "403" || rows[1][4] != "200" || rows[1][1] != "127.0.0.1" || !strings.Contains(rows[1][2], "Chrome") || rows[1][7] != "yes" {
		t.Errorf("audit rows %q", rows)
	}
	b.shot("shares")

	// --- a second link, revoked from the page ---
	link2, id2 := makeShare("0", "to revoke")
	if got := fetch(t, link2); got.status != 200 || got.body != content {
		t.Fatalf("second link before revocation: %d %q", got.status, got.body)
	}
	b.do("shares page", chromedp.Navigate(base+"/console/#/shares"))
	row2 := `#shares tr[data-id="` + id2 + `"]`
	b.waitJS("second share listed", `document.querySelector('`+row2+`')`)
	b.click(row2 + ` button.revoke`)
	b.waitJS("confirmation", `document.querySelector("#dialog[open] button.danger")`)
	if !strings.Contains(b.text("#dialog"), "to revoke") {
		t.Errorf("confirmation %q does not name the share", b.text("#dialog"))
	}
	b.click("#dialog button.danger")
	b.waitJS("revoked on the page", `document.querySelector('`+row2+` .state-badge') && document.querySelector('`+row2+` .state-badge').textContent === "revoked"`)
	if eval[bool](b, `!!document.querySelector('`+row2+` button.revoke')`) {
		t.Error("a revoked share still offers Revoke")
	}
	if got := fetch(t, link2); got.status != 403 || !strings.Contains(got.body, "This share link was revoked.") {
		t.Fatalf("revoked link: %d %q", got.status, got.body)
	}
	if sh := getShare(t, srv, id); sh["state"] != "used up" {
		t.Errorf("the first share after revoking the second: %v", sh["state"])
	}

	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
}
