package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/postern/postern/iam"
)

// runAdmin runs `postern admin …`: operator commands sent to a running
// server through its IAM endpoint, signed with the operator's AWS credentials.
//
//	postern admin account create --id 12DIGITS [--endpoint-url URL]
func runAdmin(args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "account" || args[1] != "create" {
		fmt.Fprintln(stderr, "Usage: postern admin account create --id 12DIGITS [--endpoint-url URL] [--region R] [--profile P]")
		return errors.New("unknown admin command")
	}
	fs := flag.NewFlagSet("postern admin account create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "the new account's 12-digit id")
	endpoint := fs.String("endpoint-url", "", "Postern endpoint (default $AWS_ENDPOINT_URL_IAM, $AWS_ENDPOINT_URL, else http://127.0.0.1:9000)")
	region := fs.String("region", "", "region to sign for (default from the AWS config, else us-east-1)")
	profile := fs.String("profile", "", "AWS shared config profile for the operator's credentials")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if !iam.ValidAccountID(*id) {
		return fmt.Errorf("--id: want 12 digits, got %q", *id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, reg, ep, err := clientSettings(ctx, *profile, *region, *endpoint, "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL")
	if err != nil {
		return err
	}
	creds := aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey, SessionToken: c.SessionToken}
	res, err := createAccountCall(ctx, ep+"/", reg, creds, *id)
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(res, "", "  ")
	fmt.Fprintln(stdout, string(out))
	return nil
}

type createAccountResult struct {
	AccountID       string `xml:"CreateAccountResult>AccountId" json:"AccountId"`
	AccessKeyID     string `xml:"CreateAccountResult>AccessKeyId" json:"AccessKeyId"`
	SecretAccessKey string `xml:"CreateAccountResult>SecretAccessKey" json:"SecretAccessKey"`
}

// createAccountCall sends the CreateAccount action (a Postern extension of
// the IAM query API), signed with SigV4 for the service "iam".
func createAccountCall(ctx context.Context, endpoint, region string, creds aws.Credentials, id string) (*createAccountResult, error) {
	body := url.Values{"Action": {"CreateAccount"}, "Version": {"2010-05-08"}, "AccountId": {id}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hash, "iam", region, time.Now()); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Code    string `xml:"Error>Code"`
			Message string `xml:"Error>Message"`
		}
		if xml.Unmarshal(data, &e) == nil && e.Code != "" {
			return nil, fmt.Errorf("%s: %s", e.Code, e.Message)
		}
		return nil, fmt.Errorf("server answered %s", resp.Status)
	}
	var res createAccountResult
	if err := xml.Unmarshal(data, &res); err != nil || res.AccessKeyID == "" {
		return nil, fmt.Errorf("unexpected response from the server: %v", err)
	}
	return &res, nil
}
