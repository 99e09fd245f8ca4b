// Package console_test drives the web console in a real headless Chromium
// (chromedp) against a real `postern server` process.
package console_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/postern/postern/internal/testserver"
	"github.com/postern/postern/proto/sigv4"
)

// chromiumPath finds the browser: $POSTERN_CHROMIUM or Debian's chromium.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("POSTERN_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("POSTERN_SKIP_BROWSER") == "1" {
		t.Skip("POSTERN_SKIP_BROWSER=1 and no chromium")
	}
	t.Fatal("chromium not found at /usr/bin/chromium: run scripts/test.sh (installs chromium), or set POSTERN_SKIP_BROWSER=1 to skip the browser tests")
	return ""
}

// consoleURL waits for the server's "postern console listening" log line.
func consoleURL(t *testing.T, srv *testserver.Server) string {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(srv.Logs(), "\n") {
			if strings.Contains(line, "postern console listening") {
				if _, rest, ok := strings.Cut(line, "console="); ok {
					u, _, _ := strings.Cut(rest, " ")
					return strings.TrimSuffix(u, "/console/")
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no console URL in the server log:\n%s", srv.Logs())
	return ""
}

type browserT struct {
	t   *testing.T
	ctx context.Context
	dir string // screenshots
}

func (b *browserT) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.shot("failed")
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval runs JavaScript and returns its value.
func eval[T any](b *browserT, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("eval %s: %v", js, err)
	}
	return v
}

// waitJS waits until the expression is truthy.
func (b *browserT) waitJS(what, js string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		b.shot("failed")
		main, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		b.t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, main)
	}
}

func (b *browserT) text(sel string) string {
	b.t.Helper()
	return eval[string](b, `(document.querySelector(`+jsString(sel)+`)||{}).textContent||""`)
}

func (b *browserT) shot(name string) string {
	buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p := filepath.Join(b.dir, name+".png")
	os.WriteFile(p, buf, 0o644)
	return p
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

// setValue sets an input's value as typing would (input and change events).
func (b *browserT) setValue(sel, v string) {
	b.t.Helper()
	eval[bool](b, `(()=>{const e=document.querySelector(`+jsString(sel)+`); e.value=`+jsString(v)+`;
		e.dispatchEvent(new Event('input',{bubbles:true})); e.dispatchEvent(new Event('change',{bubbles:true})); return true})()`)
}

func (b *browserT) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// startConsole starts a server with the console and a headless Chromium on
// it; dialogs counts JavaScript dialogs (an alert means injected script ran).
func startConsole(t *testing.T, timeout time.Duration) (srv *testserver.Server, base string, b *browserT, dialogs *atomic.Int32) {
	chrome := chromiumPath(t)
	srv = testserver.Start(t, testserver.Options{Args: []string{"--console-listen", "127.0.0.1:0"}})
	base = consoleURL(t, srv)

	shots := os.Getenv("POSTERN_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(cancelC)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancelT)
	b = &browserT{t: t, ctx: ctx, dir: shots}

	dialogs = new(atomic.Int32)
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return srv, base, b, dialogs
}

// signIn signs in through the form (not keyboard-only).
func (b *browserT) signIn(base, ak, sk string) {
	b.t.Helper()
	b.do("open console", chromedp.Navigate(base+"/console/"))
	b.waitJS("sign-in form", `document.querySelector("#signin input[name=accessKeyId]")`)
	b.setValue("#signin input[name=accessKeyId]", ak)
	b.setValue("#signin input[name=secretAccessKey]", sk)
	b.click("#signin button[type=submit]")
	b.waitJS("signed in", `!document.getElementById("who").hidden`)
}

func TestConsoleInBrowser(t *testing.T) {
	srv, base, b, dialogs := startConsole(t, 150*time.Second)
	httpc := srv.HTTPClient()
	ctx, shots := b.ctx, b.dir

	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: perm, AllowWithoutSanitization: true}, Setting: browser.PermissionSettingGranted, Origin: base,
		}); err != nil {
			t.Logf("clipboard permission %s: %v", perm, err)
		}
	}

	// Security headers on the real server.
	resp, err := httpc.Get(base + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("console headers: %v", resp.Header)
	}

	// --- keyboard-only sign-in: focus starts in the access key field ---
	signInKeyboard := func(ak, sk string) {
		b.do("open console", chromedp.Navigate(base+"/console/"))
		b.waitJS("sign-in form focused", `document.activeElement && document.activeElement.name === "accessKeyId"`)
		b.do("type credentials", chromedp.KeyEvent(ak), chromedp.KeyEvent("\t"), chromedp.KeyEvent(sk), chromedp.KeyEvent("\r"))
		b.waitJS("signed in", `!document.getElementById("who").hidden`)
	}
	signInKeyboard(srv.AccessKey, srv.SecretKey)
	if got := b.text("#who-arn"); !strings.Contains(got, ":root") {
		t.Fatalf("signed in as %q", got)
	}
	b.shot("buckets-empty")

	// --- create a bucket ---
	b.waitJS("bucket form", `document.querySelector("#create-bucket input[name=bucket]")`)
	b.setValue("#create-bucket input[name=bucket]", "photos")
	b.click("#create-bucket button[type=submit]")
	b.waitJS("bucket listed", `[...document.querySelectorAll("#buckets a")].some(a => a.textContent === "photos")`)

	// --- upload several files, one large enough for a multipart upload ---
	b.do("open bucket", chromedp.Navigate(base+"/console/#/b/photos/o/"))
	b.waitJS("objects page", `document.querySelector("#upload-input")`)
	dir := t.TempDir()
	xssName := `<img src=x onerror=alert(1)>.txt`
	files := map[string][]byte{
		"hello.txt": []byte("hello, postern console\n"),
		xssName:     []byte("xss test"),
		"big.bin":   make([]byte, 20<<20+12345), // > 16 MiB: three 8 MiB parts
	}
	rand.Read(files["big.bin"])
	var paths []string
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	b.do("choose files", chromedp.SetUploadFiles(chromedp.CSS("#upload-input"), paths))
	b.waitJS("uploads finished", `(() => { const li = document.querySelectorAll("#uploads li");
		if ([...li].some(l => l.classList.contains("failed"))) throw new Error(document.querySelector("#uploads").innerText);
		return li.length === 3 && [...li].every(l => l.classList.contains("done")); })()`)
	if v := eval[float64](b, `Math.min(...[...document.querySelectorAll("#uploads progress")].map(p => p.value))`); v != 100 {
		t.Errorf("progress bars at %v, want 100", v)
	}
	b.shot("objects")
	// The bytes, read back through the S3 API.
	for name, want := range files {
		got := s3Get(t, srv, "photos", name)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got %d bytes, want %d", name, len(got), len(want))
		}
	}
	// A key that looks like HTML is shown as text.
	b.waitJS("objects listed", `document.querySelectorAll("#objects tbody tr").length >= 3`)
	if !strings.Contains(b.text("#objects"), xssName) || eval[int](b, `document.querySelectorAll("#objects img").length`) != 0 {
		t.Error("the object key was not rendered as plain text")
	}

	// --- folders: create one, upload into it, browse ---
	b.click(`.toolbar button:nth-of-type(1)`)
	b.waitJS("folder dialog", `document.querySelector("#dialog[open] #folder-name") === document.activeElement`)
	b.do("name folder", chromedp.KeyEvent("docs"), chromedp.KeyEvent("\r"))
	b.waitJS("folder listed", `[...document.querySelectorAll("#objects tr.folder a")].some(a => a.textContent === "docs/")`)
	b.click(`#objects tr.folder a`)
	// Wait for the folder's own view, not just its address: until the
	// hashchange handler has run, the old view (and its upload input, bound
	// to the bucket's root) is still on the page.
	b.waitJS("inside folder", `location.hash.endsWith("/o/docs/") && document.querySelector("#objects caption") &&
		document.querySelector("#objects caption").textContent === "Objects in photos/docs/" && document.querySelector("#upload-input")`)
	note := filepath.Join(dir, "note.md")
	os.WriteFile(note, []byte("# note"), 0o644)
	b.do("upload into folder", chromedp.SetUploadFiles(chromedp.CSS("#upload-input"), []string{note}))
	b.waitJS("folder upload", `document.querySelector("#uploads li.done") && [...document.querySelectorAll("#objects button.link")].some(x => x.textContent === "note.md")`)
	if got := s3Get(t, srv, "photos", "docs/note.md"); string(got) != "# note" {
		t.Errorf("docs/note.md = %q", got)
	}
	b.do("back to root", chromedp.Navigate(base+"/console/#/b/photos/o/"))
	b.waitJS("root listing", `document.querySelectorAll("#objects tbody tr").length >= 4`)

	// --- object details ---
	b.click(`#objects button.link[type=button]`)
	b.waitJS("details", `document.querySelector("#dialog[open] dl.props") && document.querySelector("#dialog").innerText.includes("ETag")`)
	b.do("close details", chromedp.KeyEvent("\x1b"))
	b.waitJS("details closed", `!document.querySelector("#dialog").open`)

	// --- share for a few seconds: the copied link works, then expires ---
	share := func(seconds int, filename string) string {
		b.click(`button[aria-label="Share hello.txt"]`)
		b.waitJS("share dialog", `document.querySelector("#dialog[open] #share-form")`)
		// A plain presigned URL (the dialog makes tracked links by default;
		// tests/console/shares_test.go covers those).
		b.click("#share-tracked")
		b.waitJS("plain link fields", `!document.querySelector("#plain-fields").hidden`)
		if seconds == 3600 {
			// the 1-hour preset is the default
		} else {
			eval[bool](b, `(() => { const r = document.querySelector('#share-form input[value=custom]'); r.click(); return true })()`)
			b.setValue("#share-form input[type=number]", fmt.Sprint(seconds))
			b.setValue("#share-form select", "1")
		}
		if filename != "" {
			b.setValue("#share-filename", filename)
		}
		b.click("#share-create")
		b.waitJS("link made", `document.querySelector("#share-url")`)
		b.click("#copy-link")
		b.waitJS("copy confirmed", `document.querySelector("#copy-status").textContent.includes("Copied")`)
		link := eval[string](b, `navigator.clipboard.readText()`)
		if shown := eval[string](b, `document.querySelector("#share-url").value`); shown != link {
			t.Fatalf("clipboard %q, dialog shows %q", link, shown)
		}
		if exp := b.text("#share-expiry"); !strings.Contains(exp, "in "+fmt.Sprint(seconds)+" s") {
			t.Errorf("expiry text %q", exp)
		}
		return link
	}
	short := share(3, "")
	made := time.Now()
	if got := fetch(t, short); got.status != 200 || got.body != "hello, postern console\n" {
		t.Fatalf("fresh link: %d %q", got.status, got.body)
	}
	eval[bool](b, `(() => { document.querySelector("#dialog .qr-box").previousElementSibling.click(); return true })()`)
	b.waitJS("QR code shown", `document.querySelector("#dialog svg.qr path").getAttribute("d").length > 100`)
	b.shot("share")
	b.do("close share", chromedp.KeyEvent("\x1b"))
	b.waitJS("share closed", `!document.querySelector("#dialog").open`)

	long := share(3600, "report.txt")
	if got := fetch(t, long); got.status != 200 || !strings.Contains(got.disposition, "report.txt") {
		t.Fatalf("1-hour link: %d %q", got.status, got.disposition)
	}
	b.do("close share", chromedp.KeyEvent("\x1b"))

	time.Sleep(time.Until(made.Add(4500 * time.Millisecond)))
	if got := fetch(t, short); got.status != 403 {
		t.Fatalf("expired link: %d %q", got.status, got.body)
	}

	// --- delete with confirmation ---
	b.waitJS("dialog closed", `!document.querySelector("#dialog").open`)
	b.click(`button[aria-label="Delete ` + xssName + `"]`)
	b.waitJS("confirm", `document.querySelector("#dialog[open] button.danger")`)
	b.click(`#dialog button.danger`)
	b.waitJS("deleted", `document.querySelector("#objects") && ![...document.querySelectorAll("#objects button.link")].some(x => x.textContent.includes("onerror"))`)
	if st := s3Status(t, srv, "GET", "photos", xssName); st != 404 {
		t.Errorf("deleted object: GET %d", st)
	}

	// --- bucket policy: inline validation and a template ---
	b.do("policy page", chromedp.Navigate(base+"/console/#/b/photos/policy"))
	b.waitJS("policy editor", `document.querySelector("#policy-editor")`)
	b.setValue("#policy-editor", `{"Version": "2012-10-17", "Statement": [`)
	b.waitJS("JSON error", `document.querySelector("#policy-error").textContent.includes("Not valid JSON")`)
	b.setValue("#policy-editor", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}`)
	b.click("#policy-save")
	b.waitJS("server validation error", `document.querySelector("#policy-error").textContent.includes("MalformedPolicy")`)
	t.Logf("inline error: %s", b.text("#policy-error"))
	b.setValue("#policy-editor", "")
	b.setValue("#template", "deny-old-presigned")
	b.setValue("#tpl-minutes", "30")
	b.click("#template-apply")
	b.waitJS("template applied", `document.querySelector("#policy-editor").value.includes("s3:signatureAge")`)
	b.shot("policy")
	b.click("#policy-save")
	b.waitJS("policy saved", `document.querySelector("#status").textContent.includes("saved")`)
	if pol := string(s3GetQ(t, srv, "photos", "", "policy")); !strings.Contains(pol, "1800000") {
		t.Errorf("stored policy: %s", pol)
	}
	// Make a prefix public: Block Public Access is on by default; the page turns it off.
	b.setValue("#template", "public-prefix")
	b.waitJS("BPA note", `!document.querySelector("#public-note").hidden`)
	b.setValue("#tpl-prefix", "docs/")
	b.click("#template-apply")
	b.waitJS("public template applied", `document.querySelector("#policy-editor").value.includes("PublicRead")`)
	b.click("#policy-save")
	b.waitJS("public policy refused while BPA is on", `document.querySelector("#policy-error").textContent.includes("AccessDenied")`)
	b.click("#bpa-off")
	b.waitJS("BPA off", `document.querySelector("#status").textContent.includes("Block Public Access saved")`)
	b.click("#policy-save")
	b.waitJS("public policy saved", `document.querySelector("#status").textContent.includes("Bucket policy saved")`)
	if got := fetch(t, srv.URL+"/photos/docs/note.md"); got.status != 200 {
		t.Errorf("anonymous read of the public prefix: %d %s", got.status, got.body)
	}

	// --- identity pages: a restricted user ---
	b.do("users page", chromedp.Navigate(base+"/console/#/iam/users"))
	b.waitJS("users page", `document.querySelector("#new-user")`)
	b.setValue("#new-user", "bob")
	b.click("#create-user button[type=submit]")
	b.waitJS("bob listed", `[...document.querySelectorAll("#users a")].some(a => a.textContent === "bob")`)
	b.do("bob's page", chromedp.Navigate(base+"/console/#/iam/users/bob"))
	b.click("#create-key")
	b.waitJS("secret shown once", `document.querySelector("#dialog[open] #new-secret")`)
	bobAK := eval[string](b, `document.querySelector("#dialog input[readonly]").value`)
	bobSK := eval[string](b, `document.querySelector("#new-secret").value`)
	b.do("close key dialog", chromedp.KeyEvent("\x1b"))
	b.waitJS("key listed", `document.querySelector("#keys") && document.querySelector("#keys").textContent.includes(`+jsString(bobAK)+`)`)
	b.do("policies page", chromedp.Navigate(base+"/console/#/iam/policies"))
	b.waitJS("policies page", `document.querySelector("#new-policy")`)
	b.setValue("#new-policy", "photos-read")
	b.setValue("#new-policy-doc", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets","s3:ListBucket","s3:GetObject"],"Resource":"*"}]}`)
	b.click("#create-policy button[type=submit]")
	b.waitJS("policy listed", `document.querySelector("#policies") && document.querySelector("#policies").textContent.includes("photos-read")`)
	b.do("bob's page", chromedp.Navigate(base+"/console/#/iam/users/bob"))
	b.waitJS("attach form", `document.querySelector("#attach-arn")`)
	b.setValue("#attach-arn", "arn:aws:iam::000000000000:policy/photos-read")
	b.click("#attach-policy button[type=submit]")
	b.waitJS("attached", `document.querySelector("#user-policies") && document.querySelector("#user-policies").textContent.includes("photos-read")`)

	// --- sign out: the 1-hour link made with long-term keys still works ---
	b.click("#signout")
	b.waitJS("signed out", `document.querySelector("#signin")`)
	if got := fetch(t, long); got.status != 200 {
		t.Fatalf("link after sign-out: %d", got.status)
	}

	// --- bob: reads work, deletes are refused with the policy's reason ---
	signInKeyboard(bobAK, bobSK)
	b.waitJS("bob sees buckets", `[...document.querySelectorAll("#buckets a")].some(a => a.textContent === "photos")`)
	b.do("bob opens bucket", chromedp.Navigate(base+"/console/#/b/photos/o/"))
	b.waitJS("bob's listing", `document.querySelector('button[aria-label="Delete hello.txt"]')`)
	b.click(`button[aria-label="Delete hello.txt"]`)
	b.waitJS("confirm", `document.querySelector("#dialog[open] button.danger")`)
	b.click(`#dialog button.danger`)
	b.waitJS("AccessDenied shown", `document.querySelector("#dialog .error") && document.querySelector("#dialog .error").textContent.includes("AccessDenied")`)
	denied := b.text("#dialog .error")
	if !strings.Contains(denied, "s3:DeleteObject") || !strings.Contains(denied, "bob") {
		t.Errorf("denial message %q does not say what was denied", denied)
	}
	b.shot("access-denied")
	if st := s3Status(t, srv, "HEAD", "photos", "hello.txt"); st != 200 {
		t.Errorf("hello.txt after a refused delete: %d", st)
	}
	b.do("cancel", chromedp.KeyEvent("\x1b"))

	// --- temporary credentials cap links at their expiry, and the dialog says so ---
	b.click("#signout")
	b.waitJS("signed out", `document.querySelector("#signin")`)
	tak, tsk, tok := sessionToken(t, srv)
	b.do("open console", chromedp.Navigate(base+"/console/"))
	b.waitJS("sign-in form", `document.querySelector("#signin")`)
	b.setValue("#signin input[name=accessKeyId]", tak)
	b.setValue("#signin input[name=secretAccessKey]", tsk)
	b.setValue("#signin textarea[name=sessionToken]", tok)
	b.click("#signin button[type=submit]")
	b.waitJS("signed in with a session token", `document.querySelector("#who-arn").textContent.includes("(temporary)")`)
	b.do("bucket", chromedp.Navigate(base+"/console/#/b/photos/o/"))
	b.waitJS("listing", `document.querySelector('button[aria-label="Share hello.txt"]')`)
	b.click(`button[aria-label="Share hello.txt"]`)
	b.waitJS("cap note", `document.querySelector("#dialog #cap-note")`)
	b.click("#share-tracked") // a plain link, signed with the session's own keys
	eval[bool](b, `(() => { document.querySelector('#share-form input[value="604800"]').click(); return true })()`)
	b.click("#share-create")
	b.waitJS("capped link", `document.querySelector("#dialog #capped")`)
	tempLink := eval[string](b, `document.querySelector("#share-url").value`)
	if !strings.Contains(tempLink, "X-Amz-Security-Token=") || strings.Contains(tempLink, "X-Amz-Expires=604800") {
		t.Errorf("temporary link: %s", tempLink)
	}
	if got := fetch(t, tempLink); got.status != 200 {
		t.Errorf("temporary link: %d %s", got.status, got.body)
	}
	b.shot("share-temporary")
	b.do("close", chromedp.KeyEvent("\x1b"))

	// --- 375 px wide ---
	b.do("phone viewport", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile), chromedp.Navigate(base+"/console/#/b/photos/o/"))
	b.waitJS("phone listing", `document.querySelectorAll("#objects tbody tr").length >= 3`)
	if w := eval[float64](b, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("page is %v px wide at a 375 px viewport", w)
	}
	p := b.shot("objects-375")
	t.Logf("screenshots in %s (e.g. %s)", shots, p)

	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened: injected script ran", n)
	}
}

// sessionToken gets temporary credentials for root from STS (a presigned
// GetSessionToken call).
func sessionToken(t *testing.T, srv *testserver.Server) (ak, sk, token string) {
	t.Helper()
	body := "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900"
	req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	now := time.Now().UTC()
	amz := now.Format("20060102T150405Z")
	req.Header.Set("X-Amz-Date", amz)
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	signed := []string{"content-type", "host", "x-amz-date"}
	scope := sigv4.ScopeString(amz[:8], srv.Region, "sts")
	sig := sigv4.Signature(sigv4.SigningKey(srv.SecretKey, amz[:8], srv.Region, "sts"),
		sigv4.StringToSign(now, scope, sigv4.CanonicalRequest(req, signed, hash)))
	req.Header.Set("Authorization", sigv4.Algorithm+" Credential="+srv.AccessKey+"/"+scope+", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	got := fetched{status: resp.StatusCode, body: string(raw)}
	var doc struct {
		AK    string `xml:"GetSessionTokenResult>Credentials>AccessKeyId"`
		SK    string `xml:"GetSessionTokenResult>Credentials>SecretAccessKey"`
		Token string `xml:"GetSessionTokenResult>Credentials>SessionToken"`
	}
	if err := xml.Unmarshal([]byte(got.body), &doc); err != nil || doc.Token == "" {
		t.Fatalf("GetSessionToken: %d %s", got.status, got.body)
	}
	return doc.AK, doc.SK, doc.Token
}

type fetched struct {
	status      int
	body        string
	disposition string
}

// fetch GETs a URL with no credentials.
func fetch(t *testing.T, u string) fetched {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fetched{resp.StatusCode, string(body), resp.Header.Get("Content-Disposition")}
}

func presign(t *testing.T, srv *testserver.Server, method, bucket, key, query string) string {
	t.Helper()
	u := srv.URL + "/" + bucket
	if key != "" {
		u += "/" + sigv4.EncodePath(key)
	}
	if query != "" {
		u += "?" + query + "="
	}
	s, err := sigv4.Presign(sigv4.Credentials{AccessKey: srv.AccessKey, SecretKey: srv.SecretKey},
		sigv4.PresignOptions{Method: method, URL: u, Region: srv.Region, SignAt: time.Now(), Expires: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func s3GetQ(t *testing.T, srv *testserver.Server, bucket, key, query string) []byte {
	t.Helper()
	resp, err := srv.HTTPClient().Get(presign(t, srv, "GET", bucket, key, query))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s/%s?%s: %d %s", bucket, key, query, resp.StatusCode, body)
	}
	return body
}

func s3Get(t *testing.T, srv *testserver.Server, bucket, key string) []byte {
	return s3GetQ(t, srv, bucket, key, "")
}

func s3Status(t *testing.T, srv *testserver.Server, method, bucket, key string) int {
	t.Helper()
	req, _ := http.NewRequest(method, presign(t, srv, method, bucket, key, ""), nil)
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
