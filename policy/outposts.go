package policy

import "strings"

// Outpost describes an S3 on Outposts endpoint. Its methods make requests
// expressed in plain S3 terms also match policies written for the
// s3-outposts service, by adding aliases (matched as OR with the primary
// values) rather than by rewriting the policy.
//
// Use it once per request, before Evaluate:
//
//	o := policy.Outpost{Region: "us-east-1", Account: "111122223333", ID: "op-01ac5d28a6a232904"}
//	o.Alias(&req)               // s3-outposts:Action and the outpost ARN
//	o.AliasContext(ctx)         // s3-outposts:… copies of the s3:… keys
type Outpost struct {
	Partition string // default "aws"
	Region    string
	Account   string
	ID        string // e.g. "op-01ac5d28a6a232904"
}

// Action maps "s3:GetObject" to "s3-outposts:GetObject". Other services are
// returned unchanged.
func (o Outpost) Action(s3Action string) string {
	if len(s3Action) > 3 && strings.EqualFold(s3Action[:3], "s3:") {
		return "s3-outposts:" + s3Action[3:]
	}
	return s3Action
}

// BucketARN returns arn:PARTITION:s3-outposts:REGION:ACCOUNT:outpost/ID/bucket/BUCKET.
func (o Outpost) BucketARN(bucket string) string {
	part := o.Partition
	if part == "" {
		part = "aws"
	}
	return "arn:" + part + ":s3-outposts:" + o.Region + ":" + o.Account + ":outpost/" + o.ID + "/bucket/" + bucket
}

// ObjectARN returns the BucketARN followed by /object/KEY.
func (o Outpost) ObjectARN(bucket, key string) string {
	return o.BucketARN(bucket) + "/object/" + key
}

// ResourceARN maps an S3 ARN ("arn:aws:s3:::bucket" or
// "arn:aws:s3:::bucket/key") to its outpost equivalent.
func (o Outpost) ResourceARN(s3ARN string) (string, bool) {
	a, ok := parseARN(s3ARN)
	if !ok || a.service != "s3" || a.resource == "" {
		return "", false
	}
	bucket, key, hasKey := strings.Cut(a.resource, "/")
	if hasKey {
		return o.ObjectARN(bucket, key), true
	}
	return o.BucketARN(bucket), true
}

// Alias appends the s3-outposts forms of req.Action and req.Resource to
// req.ActionAliases and req.ResourceAliases.
func (o Outpost) Alias(req *Request) {
	if a := o.Action(req.Action); a != req.Action {
		req.ActionAliases = append(req.ActionAliases, a)
	}
	if r, ok := o.ResourceARN(req.Resource); ok {
		req.ResourceAliases = append(req.ResourceAliases, r)
	}
}

// AliasContext copies every "s3:" key of ctx (such as s3:signatureAge,
// s3:authType and s3:x-amz-content-sha256) to the same "s3-outposts:" key,
// unless that key is already set.
func (o Outpost) AliasContext(ctx MapContext) {
	var add []string
	for k := range ctx {
		if strings.HasPrefix(k, "s3:") {
			if _, ok := ctx["s3-outposts:"+k[3:]]; !ok {
				add = append(add, k)
			}
		}
	}
	for _, k := range add {
		ctx["s3-outposts:"+k[3:]] = ctx[k]
	}
}
