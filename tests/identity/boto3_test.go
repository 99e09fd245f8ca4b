package identity

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/postern/postern/internal/testserver"
)

const boto3Script = `
import os, sys, time, json
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ep = os.environ["POSTERN_URL"]
kw = dict(endpoint_url=ep, region_name="us-east-1",
          aws_access_key_id=os.environ["ROOT_AK"], aws_secret_access_key=os.environ["ROOT_SK"])
iam = boto3.client("iam", **kw)
sts = boto3.client("sts", **kw)

def code(fn, *a, **k):
    try:
        fn(*a, **k)
    except ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] < 500, e
        return e.response["Error"]["Code"]
    return None

iam.create_user(UserName="frank")
assert code(iam.create_user, UserName="frank") == "EntityAlreadyExists"
assert code(iam.get_user, UserName="ghost") == "NoSuchEntity"
key = iam.create_access_key(UserName="frank")["AccessKey"]
assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) == 40
doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:GetUser", "sts:AssumeRole"], "Resource": "*"}]}
iam.put_user_policy(UserName="frank", PolicyName="p", PolicyDocument=json.dumps(doc))
got = iam.get_user_policy(UserName="frank", PolicyName="p")["PolicyDocument"]
assert got == doc, got
assert iam.list_user_policies(UserName="frank")["PolicyNames"] == ["p"]
pol = iam.create_policy(PolicyName="s3", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))["Policy"]
iam.create_policy_version(PolicyArn=pol["Arn"], PolicyDocument=json.dumps(doc), SetAsDefault=False)
vs = iam.list_policy_versions(PolicyArn=pol["Arn"])["Versions"]
assert [v["VersionId"] for v in vs] == ["v2", "v1"], vs
iam.create_group(GroupName="g")
iam.add_user_to_group(GroupName="g", UserName="frank")
iam.attach_group_policy(GroupName="g", PolicyArn=pol["Arn"])
assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="frank")["Groups"]] == ["g"]
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:user/frank"}, "Action": "sts:AssumeRole"}]}
role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
assert role["AssumeRolePolicyDocument"] == trust, role
iam.attach_role_policy(RoleName="r", PolicyArn=pol["Arn"])
ents = iam.list_entities_for_policy(PolicyArn=pol["Arn"])
assert [g["GroupName"] for g in ents["PolicyGroups"]] == ["g"] and [r["RoleName"] for r in ents["PolicyRoles"]] == ["r"], ents

frank = dict(endpoint_url=ep, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
fsts = boto3.client("sts", **frank)
assert fsts.get_caller_identity()["Arn"] == "arn:aws:iam::000000000000:user/frank"
tok = fsts.get_session_token(DurationSeconds=900)["Credentials"]
assert tok["AccessKeyId"].startswith("ASIA")
c = fsts.assume_role(RoleArn=role["Arn"], RoleSessionName="py")["Credentials"]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=c["AccessKeyId"],
                  aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"],
                  config=Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket="from-boto3")
assert "from-boto3" in [b["Name"] for b in s3.list_buckets()["Buckets"]]

# A 2-second session (the server runs with --sts-min-duration 1s; botocore's
# own check of the 900-second floor is turned off).
nv = boto3.client("sts", config=Config(parameter_validation=False), **kw)
short = nv.get_session_token(DurationSeconds=2)["Credentials"]
ss3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=short["AccessKeyId"],
                   aws_secret_access_key=short["SecretAccessKey"], aws_session_token=short["SessionToken"],
                   config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
ss3.list_buckets()
time.sleep(3.2)
assert code(ss3.list_buckets) == "ExpiredToken"

iam.update_access_key(UserName="frank", AccessKeyId=key["AccessKeyId"], Status="Inactive")
assert code(fsts.get_caller_identity) == "InvalidClientTokenId"
print("boto3 ok")
`

// TestBoto3 runs the same management through boto3's iam and sts clients.
func TestBoto3(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Fatal("python3 with boto3 not installed: run scripts/test.sh, which installs python3-boto3")
	}
	s := testserver.Start(t, testserver.Options{Args: []string{"--sts-min-duration", "1s"}})
	cmd := exec.Command("python3", "-c", boto3Script)
	cmd.Env = append(cmd.Environ(), "POSTERN_URL="+s.URL, "ROOT_AK="+s.AccessKey, "ROOT_SK="+s.SecretKey,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "boto3 ok") {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
}
