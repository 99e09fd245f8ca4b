package authz

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/policy"
)

// Network is a network that requests arrive "through a VPC endpoint" from:
// a request whose source address lies in one of CIDRs gets aws:SourceVpc,
// aws:SourceVpce and aws:VpcSourceIp, and no aws:SourceIp — as in AWS.
type Network struct {
	VPC   string
	VPCE  string
	CIDRs []netip.Prefix
}

// NetConfig says how to find a request's source.
type NetConfig struct {
	// TrustedProxies may set X-Forwarded-For; from any other peer the
	// header is ignored.
	TrustedProxies []netip.Prefix
	Networks       []Network
}

// SourceAddr returns the client address of r: the TCP peer, or, when the
// peer is a trusted proxy, the right-most untrusted X-Forwarded-For entry.
func (nc *NetConfig) SourceAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	peer = peer.Unmap()
	if nc == nil || !inAny(peer, nc.TrustedProxies) {
		return peer, true
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !inAny(a, nc.TrustedProxies) {
			return a, true
		}
		peer = a
	}
	return peer, true
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Signature describes how a request was authenticated, for the s3:* keys.
type Signature struct {
	AuthType      string // REST-HEADER, REST-QUERY-STRING, POST
	Version       string // AWS4-HMAC-SHA256 or AWS (SigV2)
	ContentSHA256 string // x-amz-content-sha256 as signed; "" when not applicable
	SignedAt      time.Time
	// Age says whether s3:signatureAge applies (presigned URLs and POST policies).
	Age bool
}

// BaseContext builds the global condition keys of a request once: source
// network, transport, time, principal and signature facts.
func BaseContext(r *http.Request, now time.Time, p *iam.Principal, sig *Signature, nc *NetConfig, region string) policy.MapContext {
	c := make(policy.MapContext, 24)
	if src, ok := nc.SourceAddr(r); ok {
		viaVPC := false
		if nc != nil {
			for _, n := range nc.Networks {
				if inAny(src, n.CIDRs) {
					viaVPC = true
					if n.VPC != "" {
						c["aws:sourcevpc"] = []string{n.VPC}
					}
					if n.VPCE != "" {
						c["aws:sourcevpce"] = []string{n.VPCE}
					}
					c["aws:vpcsourceip"] = []string{src.String()}
					break
				}
			}
		}
		if !viaVPC {
			c["aws:sourceip"] = []string{src.String()}
		}
	}
	c["aws:viaawsservice"] = []string{"false"}
	c["aws:securetransport"] = []string{strconv.FormatBool(r.TLS != nil)}
	c["aws:currenttime"] = []string{now.UTC().Format(time.RFC3339)}
	c["aws:epochtime"] = []string{strconv.FormatInt(now.Unix(), 10)}
	c["aws:requestedregion"] = []string{region}
	if ua := r.Header.Get("User-Agent"); ua != "" {
		c["aws:useragent"] = []string{ua}
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		c["aws:referer"] = []string{ref}
	}
	if p != nil && p.Kind != iam.KindAnonymous {
		// For role sessions aws:PrincipalArn is the role's ARN, as in AWS.
		if p.Kind == iam.KindAssumedRole && p.RoleARN != "" {
			c["aws:principalarn"] = []string{p.RoleARN}
		} else {
			c["aws:principalarn"] = []string{p.ARN}
		}
		c["aws:principalaccount"] = []string{p.AccountID}
		if p.UserID != "" {
			c["aws:userid"] = []string{p.UserID}
		}
		switch p.Kind {
		case iam.KindRoot:
			c["aws:principaltype"] = []string{"Account"}
		case iam.KindUser:
			c["aws:principaltype"] = []string{"User"}
			c["aws:username"] = []string{p.Name}
		case iam.KindAssumedRole:
			c["aws:principaltype"] = []string{"AssumedRole"}
		}
		if !p.Expires.IsZero() && !p.IssuedAt.IsZero() {
			c["aws:tokenissuetime"] = []string{p.IssuedAt.UTC().Format(time.RFC3339)}
		}
		c["aws:multifactorauthpresent"] = []string{"false"}
	} else {
		c["aws:principaltype"] = []string{"Anonymous"}
	}
	if sig != nil {
		c["s3:authtype"] = []string{sig.AuthType}
		c["s3:signatureversion"] = []string{sig.Version}
		if sig.ContentSHA256 != "" {
			c["s3:x-amz-content-sha256"] = []string{sig.ContentSHA256}
		}
		if sig.Age {
			age := now.Sub(sig.SignedAt).Milliseconds()
			c["s3:signatureage"] = []string{strconv.FormatInt(max(age, 0), 10)}
		}
	}
	return c
}

// RequestContext is the condition-key context of one request, built lazily:
// most requests are decided without evaluating any condition (no bucket
// policy, or none whose statements apply), and then no key is ever
// computed. The first Get builds BaseContext once.
type RequestContext struct {
	R      *http.Request
	Now    time.Time
	P      *iam.Principal
	Sig    *Signature
	Net    *NetConfig
	Region string
	// Extra holds keys the caller computes itself (lower-cased), e.g. s3:prefix.
	Extra policy.MapContext
	// OutpostAliases makes s3-outposts:KEY read the value of s3:KEY.
	OutpostAliases bool

	base policy.MapContext
}

// Get implements policy.Context.
func (c *RequestContext) Get(key string) ([]string, bool) {
	if c.OutpostAliases {
		if rest, ok := strings.CutPrefix(key, "s3-outposts:"); ok {
			key = "s3:" + rest
		}
	}
	if v, ok := c.Extra[key]; ok {
		return v, true
	}
	if c.base == nil {
		c.base = BaseContext(c.R, c.Now, c.P, c.Sig, c.Net, c.Region)
	}
	v, ok := c.base[key]
	return v, ok
}
