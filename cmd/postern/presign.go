package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/proto/sigv4"
)

// parseExpiresIn accepts seconds ("3600") or a duration ("90m", "36h", "7d").
func parseExpiresIn(s string) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		d = time.Duration(n) * time.Second
	} else if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil {
			return 0, fmt.Errorf("--expires-in %q: not a number of seconds or a duration like 90m, 12h, 7d", s)
		}
		d = time.Duration(n * float64(24*time.Hour))
	} else {
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("--expires-in %q: not a number of seconds or a duration like 90m, 12h, 7d", s)
		}
	}
	if d < time.Second || d > sigv4.MaxPresignExpiry {
		return 0, fmt.Errorf("--expires-in %s: must be between 1 second and 7 days (604800 seconds)", s)
	}
	if d%time.Second != 0 {
		return 0, fmt.Errorf("--expires-in %s: must be a whole number of seconds", s)
	}
	return d, nil
}

// parseS3URI splits s3://BUCKET/KEY.
func parseS3URI(s string, needKey bool) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q: want s3://BUCKET/KEY", s)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" || (needKey && key == "") {
		return "", "", fmt.Errorf("%q: want s3://BUCKET/KEY", s)
	}
	return bucket, key, nil
}

type signerFlags struct {
	endpoint, region, profile string
	expiresIn                 string
}

func (f *signerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.endpoint, "endpoint-url", "", "Postern endpoint (default $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else http://127.0.0.1:9000)")
	fs.StringVar(&f.region, "region", "", "region to sign for (default from the AWS config, else us-east-1)")
	fs.StringVar(&f.profile, "profile", "", "AWS shared config profile for credentials")
	fs.StringVar(&f.expiresIn, "expires-in", "3600", "validity: seconds or a duration (90m, 12h, 7d); 1 s … 7 d")
}

// resolve loads credentials, region and endpoint through the standard AWS chain.
func (f *signerFlags) resolve(ctx context.Context) (sigv4.Credentials, string, string, error) {
	return clientSettings(ctx, f.profile, f.region, f.endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
}

func objectURL(endpoint, bucket, key string) string {
	return endpoint + "/" + bucket + "/" + sigv4.EncodePath(key)
}

func runPresign(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("postern presign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf signerFlags
	sf.register(fs)
	method := fs.String("method", "GET", "HTTP method the URL allows: GET, PUT, DELETE or HEAD")
	contentType := fs.String("content-type", "", "PUT only: Content-Type the upload must send (signed)")
	contentLength := fs.Int64("content-length", -1, "PUT only: exact Content-Length the upload must send (signed)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: postern presign s3://BUCKET/KEY [flags]\n\nPrints a presigned URL (AWS Signature Version 4) that lets anyone holding it perform one request.\n\nFlags:")
		fs.PrintDefaults()
	}
	bucket, key, err := parseTarget(fs, args)
	if err != nil {
		return err
	}
	m := strings.ToUpper(*method)
	switch m {
	case "GET", "PUT", "DELETE", "HEAD":
	default:
		return fmt.Errorf("--method %s: want GET, PUT, DELETE or HEAD", *method)
	}
	exp, err := parseExpiresIn(sf.expiresIn)
	if err != nil {
		return err
	}
	hdr := http.Header{}
	if *contentType != "" || *contentLength >= 0 {
		if m != "PUT" {
			return errors.New("--content-type and --content-length apply to --method PUT")
		}
		if *contentType != "" {
			hdr.Set("Content-Type", *contentType)
		}
		if *contentLength >= 0 {
			hdr.Set("Content-Length", strconv.FormatInt(*contentLength, 10))
		}
	}
	creds, region, endpoint, err := sf.resolve(context.Background())
	if err != nil {
		return err
	}
	u, err := sigv4.Presign(creds, sigv4.PresignOptions{
		Method: m, URL: objectURL(endpoint, bucket, key), Region: region,
		Header: hdr, SignAt: time.Now(), Expires: exp,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, u)
	return nil
}

// parseTarget parses the flags and the s3://BUCKET/KEY argument, which may
// come before the flags (as in `aws s3 presign`) or after them.
func parseTarget(fs *flag.FlagSet, args []string) (bucket, key string, err error) {
	uri, rest := splitFirstArg(args)
	if err := fs.Parse(rest); err != nil {
		return "", "", err
	}
	if uri == "" && fs.NArg() > 0 {
		uri = fs.Arg(0)
	}
	if uri == "" {
		fs.Usage()
		return "", "", errors.New("missing s3://BUCKET/KEY")
	}
	return parseS3URI(uri, true)
}

// splitFirstArg lets the S3 URI come before the flags, as in `aws s3 presign`.
func splitFirstArg(args []string) (string, []string) {
	if len(args) > 0 && strings.HasPrefix(args[0], "s3://") {
		return args[0], args[1:]
	}
	return "", args
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runPresignPost(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("postern presign-post", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf signerFlags
	sf.register(fs)
	lengthRange := fs.String("content-length-range", "", "MIN,MAX: allowed upload size in bytes")
	var conds, fields multiFlag
	fs.Var(&conds, "condition", "extra policy condition as JSON, e.g. '[\"starts-with\", \"$Content-Type\", \"image/\"]' (repeatable)")
	fs.Var(&fields, "field", "extra form field NAME=VALUE, added to the fields and to the policy as an exact match (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: postern presign-post s3://BUCKET/KEY [flags]\n\nPrints {\"url\": …, \"fields\": {…}} for a browser POST upload, like boto3's generate_presigned_post.\nA KEY ending in ${filename} takes the uploaded file's name.\n\nFlags:")
		fs.PrintDefaults()
	}
	bucket, key, err := parseTarget(fs, args)
	if err != nil {
		return err
	}
	exp, err := parseExpiresIn(sf.expiresIn)
	if err != nil {
		return err
	}
	creds, region, endpoint, err := sf.resolve(context.Background())
	if err != nil {
		return err
	}
	extra := map[string]string{}
	for _, f := range fields {
		name, value, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return fmt.Errorf("--field %q: want NAME=VALUE", f)
		}
		extra[name] = value
	}
	var conditions []any
	if *lengthRange != "" {
		lo, hi, ok := strings.Cut(*lengthRange, ",")
		min, err1 := strconv.ParseInt(strings.TrimSpace(lo), 10, 64)
		max, err2 := strconv.ParseInt(strings.TrimSpace(hi), 10, 64)
		if !ok || err1 != nil || err2 != nil || min < 0 || max < min {
			return fmt.Errorf("--content-length-range %q: want MIN,MAX with 0 <= MIN <= MAX", *lengthRange)
		}
		conditions = append(conditions, []any{"content-length-range", min, max})
	}
	for _, c := range conds {
		var v any
		if err := json.Unmarshal([]byte(c), &v); err != nil {
			return fmt.Errorf("--condition %q: not JSON: %v", c, err)
		}
		switch v.(type) {
		case []any, map[string]any:
		default:
			return fmt.Errorf("--condition %q: want a JSON array or object", c)
		}
		conditions = append(conditions, v)
	}
	out, err := sigv4.PresignPOST(creds, sigv4.PostOptions{
		Bucket: bucket, Key: key, Region: region, SignAt: time.Now(), Expires: exp,
		Fields: extra, Conditions: conditions,
	})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(map[string]any{"url": endpoint + "/" + bucket + "/", "fields": out})
}
