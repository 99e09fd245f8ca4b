package console_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	"github.com/chromedp/chromedp"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
	"github.com/postern/postern/proto/sigv4"
)

func iamClient(srv *testserver.Server) *awsiam.Client {
	return awsiam.NewFromConfig(s3test.Config(srv, s3test.Options{}))
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

// TestConsoleIdentityPages drives the groups and roles pages and a user's
// inline policies in the browser, checking each result through the IAM API.
func TestConsoleIdentityPages(t *testing.T) {
	srv, base, b, dialogs := startConsole(t, 90*time.Second)
	ic := iamClient(srv)
	ctx := context.Background()
	b.signIn(base, srv.AccessKey, srv.SecretKey)

	if _, err := ic.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("carol")}); err != nil {
		t.Fatal(err)
	}

	// --- more users than one IAM page (100): the list follows the Marker ---
	for i := range 104 {
		if _, err := ic.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String(fmt.Sprintf("u%03d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	b.do("users page", chromedp.Navigate(base+"/console/#/iam/users"))
	b.waitJS("all 105 users listed", `document.querySelectorAll("#users tbody a").length === 105 && [...document.querySelectorAll("#users a")].some(a => a.textContent === "u103")`)

	// --- groups: create, add a member, list members, remove, delete ---
	group := "eng+ops=1,x@y.z" // IAM allows +=,.@_- in names
	b.do("groups page", chromedp.Navigate(base+"/console/#/iam/groups"))
	b.waitJS("groups page", `document.querySelector("#new-group")`)
	b.setValue("#new-group", group)
	b.click("#create-group button[type=submit]")
	b.waitJS("group listed", `[...document.querySelectorAll("#groups a")].some(a => a.textContent === `+jsString(group)+`)`)
	if _, err := ic.GetGroup(ctx, &awsiam.GetGroupInput{GroupName: aws.String(group)}); err != nil {
		t.Fatalf("GetGroup after create: %v", err)
	}
	b.click(`#groups a[href="#/iam/groups/` + sigv4.EncodeURIComponent(group) + `"]`)
	b.waitJS("group page", `location.hash === "#/iam/groups/`+sigv4.EncodeURIComponent(group)+`" && document.querySelector("#add-member")`)
	b.setValue("#add-member", "carol")
	b.click("#add-member-form button[type=submit]")
	b.waitJS("member listed", `[...document.querySelectorAll("#group-members a")].some(a => a.textContent === "carol")`)
	g, err := ic.GetGroup(ctx, &awsiam.GetGroupInput{GroupName: aws.String(group)})
	if err != nil || len(g.Users) != 1 || aws.ToString(g.Users[0].UserName) != "carol" {
		t.Fatalf("GetGroup after add: %v %+v", err, g)
	}
	// A user that does not exist: IAM's error is shown in the form.
	b.setValue("#add-member", "nobody")
	b.click("#add-member-form button[type=submit]")
	b.waitJS("NoSuchEntity shown", `document.querySelector("#add-member-form .error") && document.querySelector("#add-member-form .error").textContent.includes("NoSuchEntity")`)
	// The user's page lists the group too.
	b.do("carol's page", chromedp.Navigate(base+"/console/#/iam/users/carol"))
	b.waitJS("carol's groups", `document.querySelector("#user-groups") && document.querySelector("#user-groups").textContent.includes(`+jsString(group)+`)`)
	b.do("group page", chromedp.Navigate(base+"/console/#/iam/groups/"+sigv4.EncodeURIComponent(group)))
	b.waitJS("member listed", `[...document.querySelectorAll("#group-members a")].some(a => a.textContent === "carol")`)
	// A group with members cannot be deleted; the refusal is shown.
	b.click("#delete-group")
	b.waitJS("confirm", `document.querySelector("#dialog[open] button.danger")`)
	b.click("#dialog button.danger")
	b.waitJS("DeleteConflict shown", `document.querySelector("#dialog .error") && document.querySelector("#dialog .error").textContent.includes("DeleteConflict")`)
	b.click(`#dialog .actions button:not(.danger)`)
	b.waitJS("dialog closed", `!document.querySelector("#dialog").open`)
	b.click(`button[aria-label="Remove carol from ` + group + `"]`)
	b.waitJS("member removed", `document.querySelector("#group-members") && document.querySelector("#group-members").textContent.includes("None.")`)
	if g, err := ic.GetGroup(ctx, &awsiam.GetGroupInput{GroupName: aws.String(group)}); err != nil || len(g.Users) != 0 {
		t.Fatalf("GetGroup after remove: %v %+v", err, g)
	}
	b.click("#delete-group")
	b.waitJS("confirm", `document.querySelector("#dialog[open] button.danger")`)
	b.click("#dialog button.danger")
	b.waitJS("back on the groups list", `location.hash === "#/iam/groups" && document.querySelector("#groups") && !document.querySelector("#groups").textContent.includes(`+jsString(group)+`)`)
	if _, err := ic.GetGroup(ctx, &awsiam.GetGroupInput{GroupName: aws.String(group)}); errCode(err) != "NoSuchEntity" {
		t.Fatalf("GetGroup after delete: %v", err)
	}

	// --- roles: a malformed trust policy is refused, then create, list, delete ---
	b.do("roles page", chromedp.Navigate(base+"/console/#/iam/roles"))
	b.waitJS("roles page", `document.querySelector("#new-role")`)
	if trust := eval[string](b, `document.querySelector("#new-role-trust").value`); !strings.Contains(trust, "sts:AssumeRole") {
		t.Errorf("default trust policy: %s", trust)
	}
	if hint := eval[string](b, `document.querySelector("#new-role-trust").closest("form").textContent`); !strings.Contains(hint, "whose own policies allow sts:AssumeRole on this role") {
		t.Fatalf("the roles page does not say what the default trust policy means: %q", hint)
	}
	b.setValue("#new-role", "deployer")
	b.setValue("#new-role-trust", `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Principal":{"AWS":"arn:aws:iam::000000000000:user/carol"},"Action":"sts:AssumeRole"}]}`)
	b.click("#create-role button[type=submit]")
	b.waitJS("MalformedPolicyDocument shown", `document.querySelector("#create-role .error") && document.querySelector("#create-role .error").textContent.includes("MalformedPolicyDocument")`)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/carol"},"Action":"sts:AssumeRole"}]}`
	b.setValue("#new-role-trust", trust)
	b.click("#create-role button[type=submit]")
	b.waitJS("role listed", `document.querySelector("#roles") && document.querySelector("#roles").textContent.includes("deployer")`)
	role, err := ic.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("deployer")})
	if err != nil {
		t.Fatalf("GetRole: %v", err)
	}
	doc, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if !strings.Contains(doc, "user/carol") || !strings.Contains(doc, "sts:AssumeRole") {
		t.Errorf("trust policy stored: %s", doc)
	}
	b.click(`button[aria-label="Delete role deployer"]`)
	b.waitJS("confirm", `document.querySelector("#dialog[open] button.danger")`)
	b.click("#dialog button.danger")
	b.waitJS("role gone", `!document.querySelector("#dialog").open && document.querySelector("#roles") && !document.querySelector("#roles").textContent.includes("deployer")`)
	if _, err := ic.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("deployer")}); errCode(err) != "NoSuchEntity" {
		t.Fatalf("GetRole after delete: %v", err)
	}

	// --- a user's inline policies: JSON and server errors inline, put, edit, delete ---
	b.do("carol's page", chromedp.Navigate(base+"/console/#/iam/users/carol"))
	b.waitJS("inline policies", `document.querySelector("#inline-policies") && document.querySelector("#inline-doc")`)
	b.setValue("#inline-name", "read-photos")
	b.setValue("#inline-doc", `{"Version": "2012-10-17", "Statement": [`)
	b.waitJS("JSON error", `document.querySelector("#inline-error").textContent.includes("Not valid JSON")`)
	b.setValue("#inline-doc", `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:GetObject","Resource":"*"}]}`)
	b.click("#put-inline button[type=submit]")
	b.waitJS("server validation error", `document.querySelector("#inline-error").textContent.includes("MalformedPolicyDocument")`)
	if out, err := ic.ListUserPolicies(ctx, &awsiam.ListUserPoliciesInput{UserName: aws.String("carol")}); err != nil || len(out.PolicyNames) != 0 {
		t.Fatalf("ListUserPolicies after a refused put: %v %+v", err, out)
	}
	b.setValue("#inline-doc", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}`)
	b.click("#put-inline button[type=submit]")
	b.waitJS("inline policy listed", `document.querySelector("#inline-policies") && document.querySelector("#inline-policies").textContent.includes("read-photos")`)
	got, err := ic.GetUserPolicy(ctx, &awsiam.GetUserPolicyInput{UserName: aws.String("carol"), PolicyName: aws.String("read-photos")})
	if err != nil {
		t.Fatalf("GetUserPolicy: %v", err)
	}
	if doc, _ := url.QueryUnescape(aws.ToString(got.PolicyDocument)); !strings.Contains(doc, "arn:aws:s3:::photos/*") {
		t.Errorf("inline policy stored: %s", doc)
	}
	b.click(`button[aria-label="Edit inline policy read-photos"]`)
	b.waitJS("policy loaded into the editor", `document.querySelector("#inline-name").value === "read-photos" && document.querySelector("#inline-doc").value.includes("arn:aws:s3:::photos/*")`)
	b.click(`button[aria-label="Delete inline policy read-photos"]`)
	b.waitJS("confirm", `document.querySelector("#dialog[open] button.danger")`)
	b.click("#dialog button.danger")
	b.waitJS("inline policy gone", `!document.querySelector("#dialog").open && document.querySelector("#inline-policies") && document.querySelector("#inline-policies").textContent.includes("None.")`)
	if out, err := ic.ListUserPolicies(ctx, &awsiam.ListUserPoliciesInput{UserName: aws.String("carol")}); err != nil || len(out.PolicyNames) != 0 {
		t.Fatalf("ListUserPolicies after delete: %v %+v", err, out)
	}

	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
}
