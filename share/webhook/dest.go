package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/postern/postern/share"
)

// ErrRefusedAddress is why a per-share webhook is not called: its host is
// (or resolves to) an address in a loopback, private, link-local or other
// non-public range, and the operator did not allow those
// (--share-webhook-allow-private).
var ErrRefusedAddress = errors.New("webhook: destination address not allowed")

// refusedError names the address refused; errors.Is(err, ErrRefusedAddress).
type refusedError struct{ addr netip.Addr }

func (e *refusedError) Error() string {
	return fmt.Sprintf("the webhook's address %s is not public (loopback, private, link-local or reserved), and this server calls only public addresses", e.addr)
}

func (e *refusedError) Is(target error) bool { return target == ErrRefusedAddress }

// nonPublic are the ranges netip's predicates do not cover that no webhook
// of a user's may reach: "this network", shared address space (carrier-grade
// NAT), IETF protocol assignments, benchmarking, reserved, NAT64, 6to4,
// Teredo and documentation prefixes.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
}

// Public reports whether a is a public unicast address, one a webhook
// given by a user may reach without --share-webhook-allow-private.
// IPv4-mapped IPv6 addresses are judged as their IPv4 address.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.Zone() != "" || a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// dialControl refuses, at connect time, every address that is not Public:
// the address checked is the one dialled, after name resolution, so a
// name that resolves elsewhere later (DNS rebinding) is caught too.
func dialControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: dialling %q: %w", address, ErrRefusedAddress)
	}
	if !Public(ap.Addr()) {
		return &refusedError{ap.Addr().Unmap()}
	}
	return nil
}

// ParseURL checks a webhook URL's form: http or https, a host, at most
// share.MaxWebhookLen bytes, no fragment. Its error says what is wrong, in
// words for the caller.
func ParseURL(raw string) (*url.URL, error) {
	if len(raw) > share.MaxWebhookLen {
		return nil, fmt.Errorf("the webhook URL is longer than %d bytes", share.MaxWebhookLen)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return nil, errors.New("the webhook must be an absolute http:// or https:// URL")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, errors.New("the webhook URL must not have a fragment (#…)")
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("the webhook URL's port must be 1 to 65535")
		}
	}
	return u, nil
}

// Resolver looks host names up (net.DefaultResolver does).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// CheckURL is the check of a share's webhook when the share is made: its
// form (ParseURL), and unless allowPrivate, that its host is a public
// address or a name every address of which is public (resolved with r,
// net.DefaultResolver when nil). Delivery checks the address it dials
// again, so this check is for a clear answer at once, not the defence.
func CheckURL(ctx context.Context, raw string, allowPrivate bool, r Resolver) error {
	u, err := ParseURL(raw)
	if err != nil || allowPrivate {
		return err
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if !Public(a) {
			return &refusedError{a.Unmap()}
		}
		return nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("the webhook's host %q does not resolve", host)
	}
	for _, a := range addrs {
		if !Public(a) {
			return &refusedError{a.Unmap()}
		}
	}
	return nil
}
