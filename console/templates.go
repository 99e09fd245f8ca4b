package console

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
)

// Bucket policy templates for the common cases. Each returns a complete
// policy document; the page merges its statements into the editor.

type policyDoc struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string                    `json:"Sid"`
	Effect    string                    `json:"Effect"`
	Principal any                       `json:"Principal"`
	Action    any                       `json:"Action"`
	Resource  any                       `json:"Resource"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

type templateParams struct {
	Minutes int      `json:"minutes"`
	CIDRs   []string `json:"cidrs"`
	VPCE    string   `json:"vpce"`
	Prefix  string   `json:"prefix"`
}

// policyTemplate builds template kind for bucket.
func policyTemplate(kind, bucket string, p templateParams) (string, error) {
	arn := "arn:aws:s3:::" + bucket
	all := []string{arn, arn + "/*"}
	var st statement
	switch kind {
	case "deny-old-presigned":
		if p.Minutes < 1 || p.Minutes > 7*24*60 {
			return "", badRequest("Choose a signature age between 1 minute and 7 days.")
		}
		// s3:signatureAge is in milliseconds; it is set for presigned URLs
		// and POST policies only, so header-signed requests are unaffected.
		st = statement{Sid: "DenyPresignedOlderThan" + strconv.Itoa(p.Minutes) + "Minutes", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: all,
			Condition: map[string]map[string]any{"NumericGreaterThan": {"s3:signatureAge": p.Minutes * 60000}}}
	case "header-signed-only":
		st = statement{Sid: "AllowOnlyHeaderSignedRequests", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: all,
			Condition: map[string]map[string]any{"StringNotEquals": {"s3:authType": "REST-HEADER"}}}
	case "deny-unsigned-payload":
		st = statement{Sid: "DenyUnsignedPayloadUploads", Effect: "Deny", Principal: "*", Action: "s3:PutObject", Resource: arn + "/*",
			Condition: map[string]map[string]any{"StringEquals": {"s3:x-amz-content-sha256": "UNSIGNED-PAYLOAD"}}}
	case "source-ip":
		var cidrs []string
		for _, c := range p.CIDRs {
			c = strings.TrimSpace(c)
			if c == "" {
				continue
			}
			if _, err := netip.ParsePrefix(c); err != nil {
				if _, err := netip.ParseAddr(c); err != nil {
					return "", badRequest("Not an IP address or CIDR: " + c)
				}
			}
			cidrs = append(cidrs, c)
		}
		if len(cidrs) == 0 {
			return "", badRequest("Enter at least one network, e.g. 192.0.2.0/24.")
		}
		st = statement{Sid: "DenyOutsideSourceNetworks", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: all,
			Condition: map[string]map[string]any{"NotIpAddress": {"aws:SourceIp": cidrs}}}
	case "source-vpce":
		v := strings.TrimSpace(p.VPCE)
		if v == "" {
			return "", badRequest("Enter a VPC endpoint id, e.g. vpce-1a2b3c4d.")
		}
		st = statement{Sid: "DenyOutsideVpcEndpoint", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: all,
			Condition: map[string]map[string]any{"StringNotEquals": {"aws:SourceVpce": v}}}
	case "public-prefix":
		st = statement{Sid: "PublicRead", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: arn + "/" + p.Prefix + "*"}
	default:
		return "", badRequest("Unknown template " + strconv.Quote(kind) + ".")
	}
	b, err := json.MarshalIndent(policyDoc{Version: "2012-10-17", Statement: []statement{st}}, "", "  ")
	return string(b), err
}

func opPolicyTemplate(c *call) (any, error) {
	var in struct {
		Bucket   string `json:"bucket"`
		Template string `json:"template"`
		templateParams
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if err := (bucketInput{in.Bucket}).check(); err != nil {
		return nil, err
	}
	doc, err := policyTemplate(in.Template, in.Bucket, in.templateParams)
	if err != nil {
		return nil, err
	}
	return map[string]any{"policy": doc, "public": in.Template == "public-prefix"}, nil
}
