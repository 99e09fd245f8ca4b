package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/postern/postern/share"
	"github.com/postern/postern/shareapi"
)

// sharesPath is where the server answers its share API (docs/api.md).
const sharesPath = "/_postern/shares"

// usageError is a mistake on the command line: main exits 2 for it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// apiError is a refusal of the share API: its code and message.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

const shareUsage = `Usage: postern share <command> [flags]

Tracked share links: presigned URLs you can list, limit and revoke one by one
(docs/api.md). Credentials, region and endpoint as for 'postern presign'.

Commands:
  create s3://BUCKET/KEY   make a link; prints its URL (for --method POST the form as JSON)
  list [s3://BUCKET[/PREFIX]]   list your shares (--all: every share of the account you may see)
  show ID                  a share's state, uses and audit rows
  revoke ID                revoke a share: its URL answers 403 from the next request on

Run 'postern share <command> -h' for a command's flags.
`

// runShare runs `postern share …`.
func runShare(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, shareUsage)
		return usagef("missing share command")
	}
	switch args[0] {
	case "create":
		return runShareCreate(args[1:], stdout, stderr)
	case "list", "ls":
		return runShareList(args[1:], stdout, stderr)
	case "show", "get":
		return runShareShow(args[1:], stdout, stderr)
	case "revoke":
		return runShareRevoke(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, shareUsage)
		return nil
	}
	fmt.Fprint(stderr, shareUsage)
	return usagef("unknown share command %q", args[0])
}

// clientFlags are the flags every share command takes to reach the server.
type clientFlags struct {
	endpoint, region, profile string
	json                      bool
}

func (f *clientFlags) register(fs *flag.FlagSet, jsonHelp string) {
	fs.StringVar(&f.endpoint, "endpoint-url", "", "Postern endpoint (default $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else http://127.0.0.1:9000)")
	fs.StringVar(&f.region, "region", "", "region to sign for (default from the AWS config, else us-east-1)")
	fs.StringVar(&f.profile, "profile", "", "AWS shared config profile for credentials")
	fs.BoolVar(&f.json, "json", false, jsonHelp)
}

func (f *clientFlags) client(ctx context.Context) (*shareClient, error) {
	c, region, endpoint, err := clientSettings(ctx, f.profile, f.region, f.endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
	if err != nil {
		return nil, err
	}
	return &shareClient{
		endpoint: endpoint, region: region,
		creds: aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey, SessionToken: c.SessionToken},
		http:  &http.Client{Timeout: time.Minute},
	}, nil
}

// newFlagSet makes a command's flag set whose usage text starts with usage.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage+"\n\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseInterleaved parses flags that may come before, between and after the
// positional arguments, and returns the positional ones. -h is flag.ErrHelp.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseArgs parses flags and exactly want positional arguments (at most
// want when optional).
func parseArgs(fs *flag.FlagSet, args []string, want int, optional bool) ([]string, error) {
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > want || (!optional && len(pos) < want) {
		fs.Usage()
		if len(pos) > want {
			return nil, usagef("unexpected argument %q", pos[want])
		}
		return nil, usagef("missing argument")
	}
	return pos, nil
}

// createInput is CreateShare's request body (docs/api.md).
type createInput struct {
	Bucket      string `json:"bucket"`
	Key         string `json:"key"`
	Method      string `json:"method"`
	ExpiresIn   int64  `json:"expiresIn"`
	MaxUses     int64  `json:"maxUses,omitempty"`
	MaxSize     int64  `json:"maxSize,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	Overwrite   bool   `json:"overwrite,omitempty"`
	Note        string `json:"note,omitempty"`
	Webhook     string `json:"webhook,omitempty"`
}

// maxMaxUses is the API's bound on maxUses.
const maxMaxUses = 1_000_000_000

// createRequest checks the create command's flags and builds its request.
func createRequest(uri, method, expiresIn string, maxUses, maxSize int64, contentType string, overwrite bool, note, webhook string) (createInput, error) {
	m := strings.ToUpper(method)
	switch m {
	case share.MethodGet, share.MethodPut, share.MethodPost:
	default:
		return createInput{}, usagef("--method %s: want GET, PUT or POST", method)
	}
	bucket, key, err := parseS3URI(uri, m != share.MethodPost)
	if err != nil {
		if m == share.MethodPost {
			return createInput{}, usageError{err.Error() + " (s3://BUCKET/PREFIX for POST)"}
		}
		return createInput{}, usageError{err.Error()}
	}
	exp, err := parseExpiresIn(expiresIn)
	if err != nil {
		return createInput{}, usageError{err.Error()}
	}
	if maxUses < 0 || maxUses > maxMaxUses {
		return createInput{}, usagef("--max-uses %d: want 0 (unlimited) to %d", maxUses, maxMaxUses)
	}
	if maxSize < 0 {
		return createInput{}, usagef("--max-size %d: want a number of bytes (0: no limit)", maxSize)
	}
	if m == share.MethodGet && (maxSize != 0 || contentType != "" || overwrite) {
		return createInput{}, usagef("--max-size, --content-type and --overwrite apply to upload links (--method PUT or POST)")
	}
	if len(note) > share.MaxNoteLen {
		return createInput{}, usagef("--note: at most %d bytes", share.MaxNoteLen)
	}
	if webhook != "" {
		u, err := url.Parse(webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(webhook) > share.MaxWebhookLen {
			return createInput{}, usagef("--webhook %q: want an http(s) URL of at most %d bytes", webhook, share.MaxWebhookLen)
		}
	}
	return createInput{
		Bucket: bucket, Key: key, Method: m, ExpiresIn: int64(exp / time.Second),
		MaxUses: maxUses, MaxSize: maxSize, ContentType: contentType, Overwrite: overwrite,
		Note: note, Webhook: webhook,
	}, nil
}

func runShareCreate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("postern share create", `Usage: postern share create s3://BUCKET/KEY [flags]

Makes a tracked share link and prints its URL: a plain SigV4 presigned URL,
signed with a key made for this link alone, that you can revoke on its own.
--method PUT makes an upload link for KEY; --method POST a browser form upload
under the prefix s3://BUCKET/PREFIX (printed as {"url": …, "fields": {…}}).
Uploads never replace an existing object unless --overwrite.`, stderr)
	var cf clientFlags
	cf.register(fs, "print the share as the API returns it (JSON, with id, url and fields)")
	method := fs.String("method", "GET", "what the link does: GET (download), PUT (upload to KEY) or POST (browser form upload under a prefix)")
	expiresIn := fs.String("expires-in", "3600", "validity: seconds or a duration (90m, 12h, 7d); 1 s … 7 d")
	maxUses := fs.Int64("max-uses", 0, "uses allowed (a 2xx download or upload; resumed downloads are free); 0: unlimited")
	maxSize := fs.Int64("max-size", 0, "uploads only: largest upload in bytes; 0: S3's own limit")
	contentType := fs.String("content-type", "", "uploads only: the Content-Type an upload must have")
	overwrite := fs.Bool("overwrite", false, "uploads only: allow replacing an existing object")
	note := fs.String("note", "", "a note for yourself (who the link is for), at most 1024 bytes")
	webhook := fs.String("webhook", "", "an http(s) URL notified of uses, revocation and running out")
	pos, err := parseArgs(fs, args, 1, false)
	if err != nil {
		return err
	}
	in, err := createRequest(pos[0], *method, *expiresIn, *maxUses, *maxSize, *contentType, *overwrite, *note, *webhook)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(in)
	raw, err := c.call(ctx, http.MethodPost, sharesPath, nil, body)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, raw)
	}
	var s shareView
	if err := json.Unmarshal(raw, &s); err != nil || s.URL == "" {
		return fmt.Errorf("unexpected answer from the server: %.200s", raw)
	}
	if s.Method == share.MethodPost {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(map[string]any{"url": s.URL, "fields": s.Fields})
	}
	fmt.Fprintln(stdout, s.URL)
	return nil
}

// listQuery builds ListShares' query from the optional s3://BUCKET[/PREFIX].
func listQuery(uri string, all bool) (url.Values, error) {
	q := url.Values{}
	if uri != "" {
		bucket, prefix, err := parseS3URI(uri, false)
		if err != nil {
			return nil, usagef("%q: want s3://BUCKET or s3://BUCKET/PREFIX", uri)
		}
		q.Set("bucket", bucket)
		if prefix != "" {
			q.Set("prefix", prefix)
		}
	}
	if all {
		q.Set("all", "true")
	}
	return q, nil
}

func runShareList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("postern share list", `Usage: postern share list [s3://BUCKET[/PREFIX]] [flags]

Lists your share links (of one bucket, or of keys under a prefix), oldest
first: id, state, uses/max, expiry, method, S3 path and note.`, stderr)
	var cf clientFlags
	cf.register(fs, "print a JSON list of the shares as the API returns them")
	all := fs.Bool("all", false, "every share of the account you may list (postern:ListShares), not only yours")
	pos, err := parseArgs(fs, args, 1, true)
	if err != nil {
		return err
	}
	uri := ""
	if len(pos) == 1 {
		uri = pos[0]
	}
	q, err := listQuery(uri, *all)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	var shares []json.RawMessage
	for page := 0; ; page++ {
		raw, err := c.call(ctx, http.MethodGet, sharesPath, q, nil)
		if err != nil {
			return err
		}
		var doc struct {
			Shares    []json.RawMessage `json:"shares"`
			NextAfter string            `json:"nextAfter"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return fmt.Errorf("unexpected answer from the server: %.200s", raw)
		}
		shares = append(shares, doc.Shares...)
		if doc.NextAfter == "" || doc.NextAfter == q.Get("after") || page >= 10000 {
			break
		}
		q.Set("after", doc.NextAfter)
	}
	if cf.json {
		if shares == nil {
			shares = []json.RawMessage{}
		}
		out, _ := json.Marshal(shares)
		return printJSON(stdout, out)
	}
	views := make([]shareView, 0, len(shares))
	for _, raw := range shares {
		var s shareView
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("unexpected share in the answer: %.200s", raw)
		}
		views = append(views, s)
	}
	writeShareTable(stdout, views)
	return nil
}

func runShareShow(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("postern share show", `Usage: postern share show ID [flags]

Shows a share link: its state, URL, uses, limits and its audit rows (newest
first: time, source address, method, status, bytes, range, user agent).`, stderr)
	return callShareByID(fs, args, http.MethodGet, "print the share as the API returns it (JSON, with uses and audit)", stdout,
		func(id string, raw []byte) error {
			var s shareView
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("unexpected answer from the server: %.200s", raw)
			}
			writeShareDetails(stdout, s)
			return nil
		})
}

func runShareRevoke(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("postern share revoke", `Usage: postern share revoke ID [flags]

Revokes a share link: from its next request on, its URL answers 403
AccessDenied "This share link was revoked." Other links and keys are untouched.`, stderr)
	return callShareByID(fs, args, http.MethodDelete, "print the revoked share as the API returns it (JSON)", stdout,
		func(id string, _ []byte) error {
			_, err := fmt.Fprintf(stdout, "%s revoked\n", id)
			return err
		})
}

// callShareByID runs a subcommand that takes one share id: it parses fs
// (with the client flags), sends method to the share's path, and prints the
// answer as JSON with --json, else through text.
func callShareByID(fs *flag.FlagSet, args []string, method, jsonHelp string, stdout io.Writer, text func(id string, raw []byte) error) error {
	var cf clientFlags
	cf.register(fs, jsonHelp)
	pos, err := parseArgs(fs, args, 1, false)
	if err != nil {
		return err
	}
	id, err := checkShareID(pos[0])
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := cf.client(ctx)
	if err != nil {
		return err
	}
	raw, err := c.call(ctx, method, sharesPath+"/"+id, nil, nil)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, raw)
	}
	return text(id, raw)
}

// checkShareID refuses what cannot be a share id before it reaches a URL
// path (a "/" or "?" would name another resource).
func checkShareID(id string) (string, error) {
	if !strings.HasPrefix(id, share.IDPrefix) || len(id) > 64 {
		return "", usagef("%q: not a share id (shr-…; see 'postern share list')", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return "", usagef("%q: not a share id (shr-…; see 'postern share list')", id)
		}
	}
	return id, nil
}

// shareView is a share as the API returns it (docs/api.md).
type shareView = shareapi.Share

func s3Path(s shareView) string { return "s3://" + s.Bucket + "/" + s.Key }

func usesText(uses, max int64) string {
	if max == 0 {
		return strconv.FormatInt(uses, 10) + "/-"
	}
	return strconv.FormatInt(uses, 10) + "/" + strconv.FormatInt(max, 10)
}

// clean makes text from the server safe for a terminal: control characters
// (escape sequences could rewrite the screen) and tabs (they would break the
// table) become spaces; "" becomes "-".
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return "-"
	}
	return s
}

func writeShareTable(w io.Writer, shares []shareView) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tUSES\tEXPIRES\tMETHOD\tS3 PATH\tNOTE")
	for _, s := range shares {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clean(s.ID), clean(s.State), usesText(s.Uses, s.MaxUses),
			clean(s.ExpiresAt), clean(s.Method), clean(s3Path(s)), clean(s.Note))
	}
	tw.Flush()
}

func writeShareDetails(w io.Writer, s shareView) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, clean(v)) }
	row("ID", s.ID)
	row("State", s.State)
	row("Method", s.Method)
	row("S3 path", s3Path(s))
	row("URL", s.URL)
	row("Created", s.CreatedAt)
	row("Expires", s.ExpiresAt)
	uses := strconv.FormatInt(s.Uses, 10)
	if s.MaxUses > 0 {
		uses += " of " + strconv.FormatInt(s.MaxUses, 10)
	} else {
		uses += " (unlimited)"
	}
	row("Uses", uses)
	row("Last used", s.LastUsed)
	if s.Method != share.MethodGet {
		size := "-"
		if s.MaxSize > 0 {
			size = strconv.FormatInt(s.MaxSize, 10) + " bytes"
		}
		row("Max size", size)
		row("Content type", s.ContentType)
		row("Overwrite", strconv.FormatBool(s.Overwrite))
	}
	row("Note", s.Note)
	row("Webhook", s.Webhook)
	row("Creator", s.Creator)
	if s.RevokedAt != "" {
		row("Revoked", s.RevokedAt+" by "+s.RevokedBy)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nAudit (%d of %d requests, newest first):\n", len(s.Audit), auditTotal(s))
	if len(s.Audit) == 0 {
		fmt.Fprintln(w, "  none")
		return
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSOURCE\tMETHOD\tSTATUS\tBYTES\tRANGE\tCOUNTED\tUSER AGENT")
	for _, a := range s.Audit {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%t\t%s\n", clean(a.Time), clean(a.Source), clean(a.Method), a.Status, a.Bytes,
			clean(a.Range), a.Counted, clean(a.UserAgent))
	}
	tw.Flush()
}

// printJSON prints a JSON document indented.
func printJSON(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("unexpected answer from the server: %.200s", raw)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// shareClient calls the share API, signing each request with SigV4
// (service s3, the Authorization header).
type shareClient struct {
	endpoint, region string
	creds            aws.Credentials
	http             *http.Client
}

// maxAnswer bounds what the client reads of an answer (a share with 1000
// audit rows of 512-byte user agents is below 1 MiB; a list of 1000
// shares with notes and webhooks is below 4 MiB).
const maxAnswer = 16 << 20

// call sends one request and returns the answer's body, or an *apiError.
func (c *shareClient) call(ctx context.Context, method, path string, q url.Values, body []byte) ([]byte, error) {
	u := c.endpoint + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body == nil {
		req.Body = http.NoBody
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	req.Header.Set("User-Agent", "postern-cli/"+version)
	// The session token of temporary credentials is sent (and signed) as
	// X-Amz-Security-Token by the signer.
	if err := v4.NewSigner().SignHTTP(ctx, c.creds, req, hash, "s3", c.region, time.Now(), func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = true // S3 signs the path as sent
	}); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, answerError(resp.StatusCode, data)
	}
	return data, nil
}

// answerError reads the API's JSON error ({"error": {"code", "message"}}),
// or an S3 XML error (a server without the share API), or says the status.
func answerError(status int, data []byte) *apiError {
	var j struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &j) == nil && j.Error.Code != "" {
		return &apiError{Status: status, Code: j.Error.Code, Message: j.Error.Message}
	}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(data, &x) == nil && x.Code != "" {
		return &apiError{Status: status, Code: x.Code, Message: x.Message}
	}
	code := strings.ReplaceAll(http.StatusText(status), " ", "")
	if code == "" {
		code = "HTTP" + strconv.Itoa(status)
	}
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf("the server answered %d", status)}
}

// auditTotal is the number of audit rows the share has (GetShare says it).
func auditTotal(s shareView) int64 {
	if s.AuditTotal == nil {
		return int64(len(s.Audit))
	}
	return *s.AuditTotal
}
