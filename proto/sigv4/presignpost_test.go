package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPresignPOST(t *testing.T) {
	c := Credentials{AccessKey: "AKIDEXAMPLE", SecretKey: "secret", SessionToken: "tok"}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f, err := PresignPOST(c, PostOptions{
		Bucket: "b", Key: "inbox/${filename}", Region: "us-east-1", SignAt: at, Expires: time.Hour,
		Fields:     map[string]string{"success_action_status": "201"},
		Conditions: []any{[]any{"content-length-range", 1, 100}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if f["key"] != "inbox/${filename}" || f["x-amz-security-token"] != "tok" || f["success_action_status"] != "201" ||
		f["x-amz-credential"] != "AKIDEXAMPLE/20261125/us-east-1/s3/aws4_request" || f["x-amz-date"] != "20261125T120000Z" {
		t.Fatalf("fields %v", f)
	}
	mac := hmac.New(sha256.New, SigningKey("secret", "20261125", "us-east-1", "s3"))
	mac.Write([]byte(f["policy"]))
	if hex.EncodeToString(mac.Sum(nil)) != f["x-amz-signature"] {
		t.Fatal("signature does not sign the policy")
	}
	raw, _ := base64.StdEncoding.DecodeString(f["policy"])
	var doc struct {
		Expiration string
		Conditions []any
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Expiration != "2026-11-25T13:00:00.000Z" {
		t.Fatalf("policy %s: %v", raw, err)
	}
	s := string(raw)
	for _, want := range []string{`{"bucket":"b"}`, `["starts-with","$key","inbox/"]`, `["content-length-range",1,100]`, `{"x-amz-security-token":"tok"}`, `{"success_action_status":"201"}`} {
		if !strings.Contains(s, want) {
			t.Errorf("policy lacks %s: %s", want, s)
		}
	}
	if _, err := PresignPOST(Credentials{}, PostOptions{Bucket: "b", Key: "k", Expires: time.Hour}); err == nil {
		t.Error("missing credentials accepted")
	}
}
