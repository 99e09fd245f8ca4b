package policye2e

import (
	"github.com/postern/postern/internal/s3test"

	"regexp"
	"testing"
)

// TestAccessDeniedMessages checks that denials say who was denied what and
// why, in AWS's words, for each reason a request can be refused.
func TestAccessDeniedMessages(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t, "--account-id", outpostAccount)
	root := sdk(t, srv, clientOpts{})
	b := s3test.NewBucket(t, root, "messages")
	body := []byte("m")
	mustPut(t, root, b, "k", body)
	obj := objARN(b, "k")

	t.Run("anonymous", func(t *testing.T) {
		_, err := s3test.GetObject(ctx(t), sdk(t, srv, clientOpts{anonymous: true}), b, "k")
		wantDenied(t, "anonymous GetObject", err, denial{who: regexp.MustCompile(`^Anonymous user is not authorized`), action: "s3:GetObject", resource: obj})
	})
	t.Run("explicit deny in the bucket policy", func(t *testing.T) {
		mustPutPolicy(t, root, b, doc(`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"`+obj+`"}`))
		_, err := s3test.GetObject(ctx(t), root, b, "k")
		wantDenied(t, "root GetObject", err, denial{
			who:    regexp.MustCompile(`^User: arn:aws:iam::111122223333:root is not authorized`),
			action: "s3:GetObject", resource: obj, why: explicitDenyResource,
		})
		mustDeletePolicy(t, root, b)
	})

	// IAM users (issue 4).
	_, user, _ := iamUser(t, srv, "plain", "")
	userWho := regexp.MustCompile(`^User: arn:aws:iam::111122223333:user/plain is not authorized`)

	t.Run("no identity policy allows", func(t *testing.T) {
		_, err := s3test.GetObject(ctx(t), user, b, "k")
		wantDenied(t, "user without policies", err, denial{who: userWho, action: "s3:GetObject", resource: obj,
			why: "because no identity-based policy allows the s3:GetObject action"})
	})
	t.Run("explicit deny in an identity policy", func(t *testing.T) {
		pol := doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`, `{"Effect":"Deny","Action":"s3:GetObject","Resource":"`+obj+`"}`)
		putUserPolicy(t, srv, "plain", "p", pol)
		_, err := s3test.GetObject(ctx(t), user, b, "k")
		wantDenied(t, "user denied by own policy", err, denial{who: userWho, action: "s3:GetObject", resource: obj,
			why: "with an explicit deny in an identity-based policy"})
		// Allowed by the same policy: proves the user is known and allowed otherwise.
		mustPut(t, user, b, "by-user", body)
	})
	t.Run("explicit deny in the bucket policy for a user", func(t *testing.T) {
		mustPutPolicy(t, root, b, doc(`{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/plain"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::`+b+`/*"}`))
		err := putObject(user, t, b, "denied", body)
		wantDenied(t, "user PutObject", err, denial{who: userWho, action: "s3:PutObject", resource: objARN(b, "denied"), why: explicitDenyResource})
		mustPut(t, root, b, "root-ok", body) // the statement names the user only
		mustDeletePolicy(t, root, b)
	})

	// Another account (issue 4).
	c := createAccountCall(t, srv, "444455556666")
	other := sdk(t, srv, clientOpts{ak: c.AccessKeyID, sk: c.SecretAccessKey})
	t.Run("no resource-based policy allows (cross-account)", func(t *testing.T) {
		_, err := s3test.GetObject(ctx(t), other, b, "k")
		wantDenied(t, "other account's root", err, denial{who: regexp.MustCompile(`^User: arn:aws:iam::444455556666:root is not authorized`),
			action: "s3:GetObject", resource: obj, why: "because no resource-based policy allows the s3:GetObject action"})
	})
}
