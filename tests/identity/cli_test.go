package identity

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/postern/postern/internal/testserver"
)

// TestAWSCLI manages identities with the aws CLI, as the README shows.
func TestAWSCLI(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	root := rootCreds(s)
	u := mustAWS(t, s, root, "iam", "create-user", "--user-name", "dave", "--path", "/ops/")
	if str(dig(u, "User", "Arn")) != "arn:aws:iam::000000000000:user/ops/dave" {
		t.Fatalf("%v", u)
	}
	k := mustAWS(t, s, root, "iam", "create-access-key", "--user-name", "dave")
	dave := creds{str(dig(k, "AccessKey", "AccessKeyId")), str(dig(k, "AccessKey", "SecretAccessKey")), ""}
	list := mustAWS(t, s, root, "iam", "list-users")
	if users, _ := list["Users"].([]any); len(users) != 1 {
		t.Fatalf("%v", list)
	}
	mustAWS(t, s, root, "iam", "create-group", "--group-name", "ops")
	mustAWS(t, s, root, "iam", "add-user-to-group", "--group-name", "ops", "--user-name", "dave")
	mustAWS(t, s, root, "iam", "put-group-policy", "--group-name", "ops", "--policy-name", "iam-read",
		"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","sts:AssumeRole"],"Resource":"*"}]}`)
	gp := mustAWS(t, s, root, "iam", "get-group-policy", "--group-name", "ops", "--policy-name", "iam-read")
	if doc, ok := gp["PolicyDocument"].(map[string]any); !ok || doc["Version"] != "2012-10-17" {
		t.Fatalf("the CLI did not decode the document: %v", gp)
	}
	// dave may read IAM through the group's policy, but not write.
	mustAWS(t, s, dave, "iam", "list-users")
	if _, err := runAWS(t, s, dave, "iam", "create-user", "--user-name", "eve"); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("create-user by dave: %v", err)
	}
	pol := mustAWS(t, s, root, "iam", "create-policy", "--policy-name", "s3-all", "--policy-document", allowS3)
	arn := str(dig(pol, "Policy", "Arn"))
	mustAWS(t, s, root, "iam", "create-role", "--role-name", "deployer",
		"--assume-role-policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/ops/dave"},"Action":"sts:AssumeRole"}]}`)
	mustAWS(t, s, root, "iam", "attach-role-policy", "--role-name", "deployer", "--policy-arn", arn)
	ar := mustAWS(t, s, root, "iam", "list-attached-role-policies", "--role-name", "deployer")
	if ps, _ := ar["AttachedPolicies"].([]any); len(ps) != 1 {
		t.Fatalf("%v", ar)
	}

	id := mustAWS(t, s, dave, "sts", "get-caller-identity")
	if id["Arn"] != "arn:aws:iam::000000000000:user/ops/dave" || id["Account"] != "000000000000" {
		t.Fatalf("%v", id)
	}
	st := mustAWS(t, s, dave, "sts", "get-session-token", "--duration-seconds", "900")
	if !strings.HasPrefix(str(dig(st, "Credentials", "AccessKeyId")), "ASIA") {
		t.Fatalf("%v", st)
	}
	as := mustAWS(t, s, dave, "sts", "assume-role", "--role-arn", "arn:aws:iam::000000000000:role/deployer", "--role-session-name", "ci")
	sess := creds{str(dig(as, "Credentials", "AccessKeyId")), str(dig(as, "Credentials", "SecretAccessKey")), str(dig(as, "Credentials", "SessionToken"))}
	id = mustAWS(t, s, sess, "sts", "get-caller-identity")
	if id["Arn"] != "arn:aws:sts::000000000000:assumed-role/deployer/ci" {
		t.Fatalf("%v", id)
	}
	mustAWS(t, s, sess, "s3api", "create-bucket", "--bucket", "deployed")
	if out, err := runAWS(t, s, sess, "s3", "ls"); err != nil || !strings.Contains(out, "deployed") {
		t.Fatalf("s3 ls as the role: %q %v", out, err)
	}

	// Errors as the CLI shows them.
	for _, tc := range []struct {
		args []string
		code string
	}{
		{[]string{"iam", "get-user", "--user-name", "nobody"}, "NoSuchEntity"},
		{[]string{"iam", "create-user", "--user-name", "dave"}, "EntityAlreadyExists"},
		{[]string{"iam", "delete-group", "--group-name", "ops"}, "DeleteConflict"},
		{[]string{"iam", "put-user-policy", "--user-name", "dave", "--policy-name", "p", "--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"","Resource":""}]}`}, "MalformedPolicyDocument"},
		{[]string{"iam", "create-user", "--user-name", "has space"}, "ValidationError"},
	} {
		if _, err := runAWS(t, s, root, tc.args...); err == nil || !strings.Contains(err.Error(), "("+tc.code+")") {
			t.Errorf("aws %s: %v, want %s", strings.Join(tc.args, " "), err, tc.code)
		}
	}
}

// TestAdminAccountCreate: `postern admin account create` prints a new
// account's root credentials, which then work.
func TestAdminAccountCreate(t *testing.T) {
	s := testserver.Start(t, testserver.Options{Args: []string{"--account-id", "111122223333"}})
	cmd := exec.Command(testserver.Binary(t), "admin", "account", "create", "--id", "444455556666", "--endpoint-url", s.URL)
	cmd.Env = s.Env()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("admin: %v %s", err, out)
	}
	var acct struct{ AccountId, AccessKeyId, SecretAccessKey string }
	if err := json.Unmarshal(out, &acct); err != nil || acct.AccountId != "444455556666" || acct.AccessKeyId == "" || len(acct.SecretAccessKey) != 40 {
		t.Fatalf("output %q: %v", out, err)
	}
	other := creds{acct.AccessKeyId, acct.SecretAccessKey, ""}
	id := mustAWS(t, s, other, "sts", "get-caller-identity")
	if id["Arn"] != "arn:aws:iam::444455556666:root" {
		t.Fatalf("%v", id)
	}
	if id := mustAWS(t, s, rootCreds(s), "sts", "get-caller-identity"); id["Account"] != "111122223333" {
		t.Fatalf("default account: %v", id)
	}
	// The new account's root manages its own users; names do not collide.
	mustAWS(t, s, other, "iam", "create-user", "--user-name", "same")
	mustAWS(t, s, rootCreds(s), "iam", "create-user", "--user-name", "same")
	// Only the default account's root may create accounts; ids are unique.
	cmd = exec.Command(testserver.Binary(t), "admin", "account", "create", "--id", "777788889999", "--endpoint-url", s.URL)
	cmd.Env = append(s.Env(), "AWS_ACCESS_KEY_ID="+other.ak, "AWS_SECRET_ACCESS_KEY="+other.sk)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "AccessDenied") {
		t.Fatalf("account created by another account's root: %s", out)
	}
	cmd = exec.Command(testserver.Binary(t), "admin", "account", "create", "--id", "444455556666", "--endpoint-url", s.URL)
	cmd.Env = s.Env()
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "EntityAlreadyExists") {
		t.Fatalf("duplicate account: %s", out)
	}
}
