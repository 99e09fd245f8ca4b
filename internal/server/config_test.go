package server

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "postern.json")
	os.WriteFile(file, []byte(`{"listen": "127.0.0.1:7000", "region": "eu-west-1", "domain": "file.example", "shutdown-timeout": "5s"}`), 0o600)
	env := map[string]string{"POSTERN_REGION": "us-west-2", "POSTERN_CONFIG": file, "POSTERN_NETWORK": "vpc=vpc-1,cidr=10.0.0.0/8"}
	getenv := func(k string) string { return env[k] }
	c, err := LoadConfig([]string{"--listen", "127.0.0.1:8000", "--network", "vpce=vpce-2,cidr=192.0.2.1"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8000" {
		t.Errorf("flag should win: listen %q", c.Listen)
	}
	if c.Region != "us-west-2" {
		t.Errorf("env should beat file: region %q", c.Region)
	}
	if c.Domain != "file.example" || c.ShutdownWait != 5*time.Second {
		t.Errorf("file should fill the rest: domain %q shutdown %v", c.Domain, c.ShutdownWait)
	}
	if c.Data != defaultData {
		t.Errorf("default data %q", c.Data)
	}
	if c.Network != "vpce=vpce-2,cidr=192.0.2.1" {
		t.Errorf("flag should replace env for network: %q", c.Network)
	}
	if _, err := LoadConfig([]string{"--bogus"}, getenv, io.Discard); err == nil {
		t.Error("unknown flag accepted")
	}
	os.WriteFile(file, []byte(`{"lisen": "x"}`), 0o600)
	if _, err := LoadConfig(nil, getenv, io.Discard); err == nil {
		t.Error("unknown config file key accepted")
	}
	if _, err := LoadConfig([]string{"--tls-cert", "x"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Error("--tls-cert without --tls-key accepted")
	}
}

func TestParseNetConfig(t *testing.T) {
	nc, err := parseNetConfig("127.0.0.1;10.0.0.0/8", "vpc=vpc-1a2b,vpce=vpce-1,cidr=127.0.0.2/32,cidr=127.0.0.3;vpc=vpc-2,cidr=fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	if len(nc.TrustedProxies) != 2 || len(nc.Networks) != 2 || len(nc.Networks[0].CIDRs) != 2 || nc.Networks[0].VPCE != "vpce-1" {
		t.Fatalf("%+v", nc)
	}
	for _, bad := range []string{"vpc=x", "cidr=10.0.0.0/8", "vpc=x,cidr=nonsense", "vpc=x,color=red,cidr=10.0.0.0/8", "novalue"} {
		if _, err := parseNetConfig("", bad); err == nil {
			t.Errorf("network %q accepted", bad)
		}
	}
	if _, err := parseNetConfig("not-an-ip", ""); err == nil {
		t.Error("bad trusted proxy accepted")
	}
}

func TestConsoleAddr(t *testing.T) {
	for _, tt := range []struct{ setting, listen, want string }{
		{"auto", "127.0.0.1:9000", "127.0.0.1:9001"},
		{"auto", "0.0.0.0:8080", "0.0.0.0:8081"},
		{"auto", "127.0.0.1:0", ""},
		{"off", "127.0.0.1:9000", ""},
		{"127.0.0.1:7000", "127.0.0.1:9000", "127.0.0.1:7000"},
	} {
		if got, _ := consoleAddr(tt.setting, tt.listen); got != tt.want {
			t.Errorf("consoleAddr(%q, %q) = %q, want %q", tt.setting, tt.listen, got, tt.want)
		}
	}
}

func TestConfigDiskThresholds(t *testing.T) {
	none := func(string) string { return "" }
	c, err := LoadConfig(nil, none, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.DiskMinFree.Auto || !c.DiskReserve.Auto {
		t.Errorf("defaults: %+v %+v, want auto", c.DiskMinFree, c.DiskReserve)
	}
	env := func(k string) string { return map[string]string{"POSTERN_DISK_RESERVE": "0"}[k] }
	c, err = LoadConfig([]string{"--disk-min-free", "2%"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.DiskMinFree.Percent != 2 || c.DiskReserve.Auto || c.DiskReserve.Bytes != 0 {
		t.Errorf("got %+v %+v", c.DiskMinFree, c.DiskReserve)
	}
	for _, bad := range [][]string{{"--disk-min-free", "lots"}, {"--disk-reserve", "-5MiB"}, {"--disk-min-free", "90%"}} {
		if _, err := LoadConfig(bad, none, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestConfigShareWebhook(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte("a-secret-of-24-bytes....\n"), 0o600)
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	c, err := LoadConfig([]string{"--share-webhook", "https://hooks.example.com/x", "--share-webhook-secret-file", secretFile}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.ShareWebhookSecret) != "a-secret-of-24-bytes...." || c.ShareWebhookAllowPrivate {
		t.Fatalf("secret %q allow-private %v", c.ShareWebhookSecret, c.ShareWebhookAllowPrivate)
	}
	c, err = LoadConfig([]string{"--share-webhook-allow-private"}, getenv, io.Discard)
	if err != nil || !c.ShareWebhookAllowPrivate {
		t.Fatalf("bare --share-webhook-allow-private: %v", err)
	}
	env["POSTERN_SHARE_WEBHOOK_SECRET"] = "from-the-environment"
	env["POSTERN_SHARE_WEBHOOK_ALLOW_PRIVATE"] = "true"
	c, err = LoadConfig([]string{"--share-webhook", "http://127.0.0.1:9/x"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.ShareWebhookSecret) != "from-the-environment" || !c.ShareWebhookAllowPrivate {
		t.Fatalf("secret %q allow-private %v", c.ShareWebhookSecret, c.ShareWebhookAllowPrivate)
	}
	for _, bad := range [][]string{
		{"--share-webhook", "http://127.0.0.1:9/x", "--share-webhook-secret-file", secretFile}, // both secrets
		{"--share-webhook", "ftp://example.com/"},
		{"--share-webhook-allow-private", "yes"},
	} {
		if _, err := LoadConfig(bad, getenv, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	delete(env, "POSTERN_SHARE_WEBHOOK_SECRET")
	for _, bad := range [][]string{
		{"--share-webhook", "https://hooks.example.com/x"}, // no secret
		{"--share-webhook-secret-file", secretFile},        // a secret for nothing
		{"--share-webhook", "https://hooks.example.com/x", "--share-webhook-secret-file", filepath.Join(dir, "missing")},
	} {
		if _, err := LoadConfig(bad, getenv, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	os.WriteFile(secretFile, []byte("short\n"), 0o600)
	if _, err := LoadConfig([]string{"--share-webhook", "https://hooks.example.com/x", "--share-webhook-secret-file", secretFile}, getenv, io.Discard); err == nil {
		t.Error("a 5-byte secret accepted")
	}
}
