package server

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/postern/postern/authz"
	"github.com/postern/postern/policy"
)

// parseNetConfig reads --trusted-proxy and --network values (";"-separated).
func parseNetConfig(trusted, networks string) (*authz.NetConfig, error) {
	nc := &authz.NetConfig{}
	for _, v := range splitList(trusted) {
		p, err := parsePrefix(v)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxy %q: %w", v, err)
		}
		nc.TrustedProxies = append(nc.TrustedProxies, p)
	}
	for _, v := range splitList(networks) {
		var n authz.Network
		for _, kv := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || val == "" {
				return nil, fmt.Errorf("--network %q: %q is not key=value", v, kv)
			}
			switch k {
			case "vpc":
				n.VPC = val
			case "vpce":
				n.VPCE = val
			case "cidr":
				p, err := parsePrefix(val)
				if err != nil {
					return nil, fmt.Errorf("--network %q: %w", v, err)
				}
				n.CIDRs = append(n.CIDRs, p)
			default:
				return nil, fmt.Errorf("--network %q: unknown key %q (want vpc, vpce, cidr)", v, k)
			}
		}
		if (n.VPC == "" && n.VPCE == "") || len(n.CIDRs) == 0 {
			return nil, fmt.Errorf("--network %q: needs vpc= or vpce=, and at least one cidr=", v)
		}
		nc.Networks = append(nc.Networks, n)
	}
	return nc, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ";") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// parsePrefix accepts a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not a CIDR or IP address")
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// outpostFor returns the S3 on Outposts aliasing for --outpost-id, or nil.
func outpostFor(id, region, account string) *policy.Outpost {
	if id == "" {
		return nil
	}
	return &policy.Outpost{Partition: "aws", Region: region, Account: account, ID: id}
}
