package postgres

import (
	"net/url"
	"strings"
	"testing"
)

const pw = "Tr0ub4dor-s3cret"

func TestParseURL(t *testing.T) {
	good := []string{
		"postgres://postern:" + pw + "@db.example:5432/postern?sslmode=verify-full",
		"postgresql://postern@127.0.0.1/postern",
		"postgres://postern@/postern?host=/var/run/postgresql",
	}
	for _, raw := range good {
		if _, err := ParseURL(raw); err != nil {
			t.Errorf("ParseURL(%q): %v", Redacted(raw), err)
		}
	}
	bad := []struct{ url, want string }{
		{"", "empty database URL"},
		{"   ", "empty database URL"},
		{"postgres://postern:" + pw + "@db:5432/postern%zz", "not a valid URL"},
		{"postgres://postern:" + pw + "%@db/postern", "not a valid URL"},
		{"mysql://postern:" + pw + "@db/postern", "must start with postgres://"},
		{"postern:" + pw + "@db/postern", "must start with postgres://"},
		{"host=db user=postern password=" + pw, "must start with postgres://"},
		{"postgres:postern:" + pw + "@db/postern", "must start with postgres://"},
		{"postgres://postern:ab#" + pw + "@db/postern", "not a valid URL"},
		{"postgres://postern@db/postern?sslmode=require#" + pw, "percent-encode it as %23"},
		{"postgres://postern@db/postern#password=" + pw, "percent-encode it as %23"},
		{"postgres://postern:" + pw + "@/postern", "names no host"},
		{"postgres://postern:" + pw + "@db:5432", "names no database"},
		{"postgres://postern:" + pw + "@db:5432/", "names no database"},
		{"postgres://postern:" + pw + "@db:99999/postern", "postgres://postern:xxxxx@db:99999/postern"},
		{"postgres://postern@db/postern?sslmode=sometimes&password=" + pw, "password=xxxxx"},
		{"postgres://postern:" + pw + "@db/postern?pool_max_conns=lots", "pool_max_conns"},
	}
	for _, c := range bad {
		_, err := ParseURL(c.url)
		if err == nil {
			t.Errorf("ParseURL accepted %q", Redacted(c.url))
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseURL(%q) = %q, want it to say %q", Redacted(c.url), err, c.want)
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("ParseURL error shows the password: %q", err)
		}
	}
}

func TestRedacted(t *testing.T) {
	for raw, want := range map[string]string{
		"postgres://u:" + url.QueryEscape(pw+"@/") + "@h/db":    "postgres://u:xxxxx@h/db",
		"postgres://u@h/db?password=" + pw + "&sslmode=require": "postgres://u@h/db?password=xxxxx&sslmode=require",
		"postgres://u@h/db?sslpassword=" + pw:                   "postgres://u@h/db?sslpassword=xxxxx",
		"postgres://u@h/db":                                     "postgres://u@h/db",
		"postgres://u:" + pw + "@h/db%zz":                       "(invalid URL)",
		"postgres://u@h/db#" + pw:                               "postgres://u@h/db",
		"postgres:u:" + pw + "@h/db":                            "(invalid URL)",
	} {
		if got := Redacted(raw); got != want {
			t.Errorf("Redacted(…) = %q, want %q", got, want)
		}
	}
}

// The password never appears in ParseURL's errors, whatever the rest of the
// URL is, nor in Redacted's output.
func FuzzParseURLKeepsPasswordSecret(f *testing.F) {
	for _, s := range [][3]string{
		{"db:5432", "/postern", "sslmode=require"},
		{"db:99999", "/postern", ""},
		{"", "/postern", ""},
		{"db", "", ""},
		{"[::1]:5432", "/x", "sslmode=bogus"},
		{"db", "/p%zz", ""},
		{"db", "/p", "pool_max_conns=x&connect_timeout=y"},
		{"db:5432,db2:5433", "/p", "target_session_attrs=nonsense"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, host, path, query string) {
		secret := pw + "-Z9q"
		if strings.Contains(host+path+query, secret[:6]) {
			t.Skip()
		}
		for _, raw := range []string{
			"postgres://user:" + secret + "@" + host + path + "?" + query,
			"postgres://user:" + url.QueryEscape(secret) + "@" + host + path + "?" + query,
			"postgres://user@" + host + path + "?password=" + secret + "&" + query,
		} {
			if _, err := ParseURL(raw); err != nil && strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the password: %q", err)
			}
			if strings.Contains(Redacted(raw), secret) {
				t.Fatalf("Redacted shows the password: %q", Redacted(raw))
			}
		}
	})
}
