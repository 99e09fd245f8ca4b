package s3blob

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Location is a parsed --blobs s3://BUCKET/PREFIX?endpoint=URL&region=R.
type Location struct {
	// Bucket is the back-end bucket; it must exist.
	Bucket string
	// Prefix is prepended to every back-end key: empty, or ending in "/".
	Prefix string
	// Endpoint is the S3 service's base URL (http or https); empty means
	// AWS S3 itself, its endpoint resolved from Region.
	Endpoint string
	// Region signs requests; empty means the standard AWS chain's
	// (AWS_REGION, the shared config file), else us-east-1.
	Region string
	// VirtualHost addresses the bucket as a host name (BUCKET.endpoint);
	// otherwise the bucket is the first path segment. The default is
	// path-style when an endpoint is given (most self-hosted services
	// answer it only), virtual-host-style for AWS S3.
	VirtualHost bool
}

// String renders the location back as a URL (no secret is ever part of it).
func (l Location) String() string {
	q := url.Values{}
	if l.Endpoint != "" {
		q.Set("endpoint", l.Endpoint)
	}
	if l.Region != "" {
		q.Set("region", l.Region)
	}
	if l.VirtualHost != (l.Endpoint == "") {
		if l.VirtualHost {
			q.Set("addressing", "virtual")
		} else {
			q.Set("addressing", "path")
		}
	}
	u := url.URL{Scheme: "s3", Host: l.Bucket, Path: "/" + l.Prefix, RawQuery: q.Encode()}
	return u.String()
}

// maxPrefix bounds the prefix, leaving room for the 35 bytes of a blob's
// key name within S3's 1024-byte key limit.
const maxPrefix = 512

// ParseURL reads an s3:// blob location. Its errors never repeat the URL
// (which the caller may want to redact) and say what is wanted.
func ParseURL(v string) (Location, error) {
	scheme, rest, ok := strings.Cut(v, "://")
	if !ok || !strings.EqualFold(scheme, "s3") {
		return Location{}, errors.New("want s3://BUCKET/PREFIX?endpoint=URL&region=REGION")
	}
	if strings.ContainsAny(v, "\x00\r\n\t ") || hasControl(v) {
		return Location{}, errors.New("the URL contains spaces or control characters")
	}
	// The authority is the bucket name alone: refuse credentials outright
	// rather than let url.Parse interpret them.
	authority, _, _ := strings.Cut(rest, "/")
	authority, _, _ = strings.Cut(authority, "?")
	if strings.Contains(authority, "@") {
		return Location{}, errors.New("credentials do not belong in the URL: they come from the standard AWS chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws/credentials, an instance role, …)")
	}
	u, err := url.Parse(v)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Location{}, fmt.Errorf("not a valid URL: %v", err)
	}
	if u.Fragment != "" || strings.Contains(v, "#") {
		return Location{}, errors.New("an s3:// URL takes no #fragment")
	}
	var l Location
	if u.Port() != "" || strings.HasSuffix(u.Host, ":") {
		return Location{}, errors.New("the host part of an s3:// URL is the bucket name; give the service's address as ?endpoint=http://HOST:PORT")
	}
	l.Bucket = u.Host
	if err := checkBucket(l.Bucket); err != nil {
		return Location{}, err
	}
	if l.Prefix, err = cleanPrefix(u.Path); err != nil {
		return Location{}, err
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Location{}, fmt.Errorf("bad query: %v", err)
	}
	addressing := ""
	for k, vs := range q {
		if len(vs) != 1 {
			return Location{}, fmt.Errorf("option %q is given %d times", k, len(vs))
		}
		val := vs[0]
		switch k {
		case "endpoint":
			if l.Endpoint, err = checkEndpoint(val); err != nil {
				return Location{}, err
			}
		case "region":
			if !validRegion(val) {
				return Location{}, fmt.Errorf("region %q: want a region name such as us-east-1", val)
			}
			l.Region = val
		case "addressing":
			if val != "path" && val != "virtual" {
				return Location{}, fmt.Errorf("addressing %q: want path or virtual", val)
			}
			addressing = val
		default:
			return Location{}, fmt.Errorf("unknown option %q (known: endpoint, region, addressing)", k)
		}
	}
	switch addressing {
	case "virtual":
		l.VirtualHost = true
	case "path":
		l.VirtualHost = false
	default:
		l.VirtualHost = l.Endpoint == ""
	}
	return l, nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// checkBucket applies S3's bucket naming rules (3 to 63 lower-case
// letters, digits, dots and hyphens, starting and ending with a letter or
// digit). Underscores are allowed too, as some S3 services allow them.
func checkBucket(b string) error {
	if b == "" {
		return errors.New("no bucket: want s3://BUCKET/PREFIX")
	}
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket %q: a bucket name has 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && c != '.' && c != '-' && c != '_' {
			return fmt.Errorf("bucket %q: a bucket name has only lower-case letters, digits, dots and hyphens", b)
		}
		if (i == 0 || i == len(b)-1) && !alnum {
			return fmt.Errorf("bucket %q: a bucket name starts and ends with a letter or digit", b)
		}
	}
	return nil
}

// cleanPrefix turns the URL's path into a key prefix: without the leading
// slash, with a trailing one unless empty, and with no empty, "." or ".."
// segment (which some services and tools treat specially).
func cleanPrefix(p string) (string, error) {
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return "", nil
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("prefix %q: no empty, \".\" or \"..\" path segments", p)
		}
	}
	if hasControl(p) || strings.Contains(p, "\\") {
		return "", fmt.Errorf("prefix %q: no control characters or backslashes", p)
	}
	if len(p)+1 > maxPrefix {
		return "", fmt.Errorf("prefix: at most %d bytes", maxPrefix-1)
	}
	return p + "/", nil
}

func checkEndpoint(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("endpoint %q: want http://HOST[:PORT] or https://HOST[:PORT]", v)
	}
	if u.User != nil {
		return "", errors.New("endpoint: credentials do not belong in the URL: they come from the standard AWS chain")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("endpoint %q: want only a scheme, a host and a port", v)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("endpoint %q: no host", v)
	}
	return u.Scheme + "://" + u.Host, nil
}

func validRegion(r string) bool {
	if r == "" || len(r) > 64 {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
