package identity

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// rawCall sends a signed query-API POST with the given body and returns the
// status and response body.
func rawCall(t *testing.T, s *testserver.Server, service, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	s3test.SignV4(t, s, req, service, []byte(body))
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBadInput: malformed actions, parameters and documents get IAM's
// errors, never a 5xx.
func TestBadInput(t *testing.T) {
	s := testserver.InProcess(t, testserver.Options{})
	big := `{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("a", 7000) + `","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	cases := []struct {
		name, service, body string
		status              int
		code                string
	}{
		{"missing action", "iam", "Version=2010-05-08", 400, "MissingAction"},
		{"unknown action", "iam", "Action=FlyToTheMoon&Version=2010-05-08", 400, "InvalidAction"},
		{"STS action on IAM", "iam", "Action=AssumeRole&Version=2010-05-08", 400, "InvalidAction"},
		{"wrong version", "iam", "Action=ListUsers&Version=2011-06-15", 400, "InvalidAction"},
		{"control characters in action", "iam", "Action=%00%01&Version=2010-05-08", 400, "InvalidAction"},
		{"duplicate parameter", "iam", "Action=ListUsers&Action=ListUsers&Version=2010-05-08", 400, "MalformedQueryString"},
		{"bad escape", "iam", "Action=ListUsers&Version=2010-05-08&x=%zz", 400, "MalformedQueryString"},
		{"missing user name", "iam", "Action=CreateUser&Version=2010-05-08", 400, "ValidationError"},
		{"long user name", "iam", "Action=CreateUser&Version=2010-05-08&UserName=" + strings.Repeat("u", 65), 400, "ValidationError"},
		{"bad path", "iam", "Action=CreateUser&Version=2010-05-08&UserName=u&Path=noslash", 400, "ValidationError"},
		{"unknown user", "iam", "Action=ListAccessKeys&Version=2010-05-08&UserName=ghost", 404, "NoSuchEntity"},
		{"bad status", "iam", "Action=UpdateAccessKey&Version=2010-05-08&UserName=u&AccessKeyId=AKIAAAAAAAAAAAAAAAAA&Status=Maybe", 400, "ValidationError"},
		{"bad MaxItems", "iam", "Action=ListUsers&Version=2010-05-08&MaxItems=0", 400, "ValidationError"},
		{"bad marker", "iam", "Action=ListUsers&Version=2010-05-08&Marker=%25%25", 400, "ValidationError"},
		{"not JSON", "iam", "Action=CreatePolicy&Version=2010-05-08&PolicyName=p&PolicyDocument=nope", 400, "MalformedPolicyDocument"},
		{"oversized managed policy", "iam", "Action=CreatePolicy&Version=2010-05-08&PolicyName=p&PolicyDocument=" + url.QueryEscape(big), 409, "LimitExceeded"},
		{"bad policy ARN", "iam", "Action=GetPolicy&Version=2010-05-08&PolicyArn=xyz", 400, "InvalidInput"},
		{"bad version id", "iam", "Action=GetPolicyVersion&Version=2010-05-08&PolicyArn=arn:aws:iam::000000000000:policy/p&VersionId=zz", 400, "ValidationError"},
		{"bad max session", "iam", "Action=CreateRole&Version=2010-05-08&RoleName=r&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=abc", 400, "ValidationError"},
		{"trust with Resource", "iam", "Action=CreateRole&Version=2010-05-08&RoleName=r&AssumeRolePolicyDocument=" + url.QueryEscape(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}`), 400, "MalformedPolicyDocument"},
		{"bad account id", "iam", "Action=CreateAccount&Version=2010-05-08&AccountId=12", 400, "ValidationError"},
		{"short duration", "sts", "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=10", 400, "ValidationError"},
		{"long duration", "sts", "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=999999", 400, "ValidationError"},
		{"non-numeric duration", "sts", "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=x", 400, "ValidationError"},
		{"assume role without session name", "sts", "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::000000000000:role/r", 400, "ValidationError"},
		{"IAM action on STS", "sts", "Action=CreateUser&Version=2011-06-15", 400, "InvalidAction"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := rawCall(t, s, tc.service, tc.body)
			if status >= 500 {
				t.Fatalf("server error %d: %s", status, body)
			}
			if status != tc.status || !strings.Contains(body, "<Code>"+tc.code+"</Code>") || !strings.Contains(body, "<RequestId>") {
				t.Fatalf("got %d %s, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}

	// Unsigned query-API calls are answered by IAM/STS, not S3.
	resp, err := s.HTTPClient().PostForm(s.URL+"/", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "MissingAuthenticationToken") || !strings.Contains(string(b), "sts.amazonaws.com") {
		t.Fatalf("unsigned STS call: %d %s", resp.StatusCode, b)
	}
	// A body over the limit is refused without a 5xx.
	status, body := rawCall(t, s, "iam", "Action=ListUsers&Version=2010-05-08&Pad="+strings.Repeat("x", 2<<20))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("huge body: %d %.200s", status, body)
	}
}
