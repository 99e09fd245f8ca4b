package webhook

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestPublic(t *testing.T) {
	for a, want := range map[string]bool{
		"93.184.215.14": true, "8.8.8.8": true, "2606:4700::1111": true, "::ffff:8.8.8.8": true,
		"127.0.0.1": false, "127.255.0.9": false, "::1": false, "::ffff:127.0.0.1": false,
		"10.1.2.3": false, "172.16.0.1": false, "172.31.255.255": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fc00::1": false, "fd12::1": false,
		"0.0.0.0": false, "::": false, "0.1.2.3": false, "100.64.0.1": false, "224.0.0.1": false,
		"ff02::1": false, "255.255.255.255": false, "198.18.0.1": false, "64:ff9b::7f00:1": false,
		"2002:7f00:1::": false, "192.0.2.1": false,
		"172.32.0.1": true, "100.128.0.1": true,
	} {
		if got := Public(netip.MustParseAddr(a)); got != want {
			t.Errorf("Public(%s) = %v, want %v", a, got, want)
		}
	}
	if Public(netip.Addr{}) {
		t.Error("the zero Addr is public")
	}
}

type fakeResolver map[string][]netip.Addr

func (r fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestCheckURL(t *testing.T) {
	r := fakeResolver{
		"hooks.example.com": {netip.MustParseAddr("93.184.215.14")},
		"mixed.example.com": {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("10.0.0.7")},
		"meta.example.com":  {netip.MustParseAddr("169.254.169.254")},
	}
	ctx := context.Background()
	for raw, want := range map[string]string{
		"https://hooks.example.com/postern":                      "",
		"http://hooks.example.com:8080/x?a=b":                    "",
		"https://93.184.215.14/":                                 "",
		"http://127.0.0.1:9000/":                                 "not public",
		"http://[::1]/":                                          "not public",
		"http://mixed.example.com/":                              "10.0.0.7 is not public",
		"http://meta.example.com/latest":                         "169.254.169.254 is not public",
		"http://nowhere.example.com/":                            "does not resolve",
		"ftp://hooks.example.com/":                               "absolute http",
		"hooks.example.com/x":                                    "absolute http",
		"https:///x":                                             "absolute http",
		"https://hooks.example.com/#frag":                        "fragment",
		"https://hooks.example.com:0/":                           "port",
		"https://hooks.example.com:99999/":                       "port",
		"https://hooks.example.com/" + strings.Repeat("a", 2048): "longer than",
	} {
		err := CheckURL(ctx, raw, false, r)
		switch {
		case want == "" && err != nil:
			t.Errorf("CheckURL(%.40q) = %v, want nil", raw, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("CheckURL(%.40q) = %v, want an error with %q", raw, err, want)
		}
		if want == "not public" && !errors.Is(err, ErrRefusedAddress) {
			t.Errorf("CheckURL(%q) = %v, not ErrRefusedAddress", raw, err)
		}
	}
	// The operator's allowance lets private addresses through, not bad forms.
	if err := CheckURL(ctx, "http://127.0.0.1:9000/", true, r); err != nil {
		t.Errorf("allowed private: %v", err)
	}
	if err := CheckURL(ctx, "ftp://127.0.0.1/", true, r); err == nil {
		t.Error("allowed private let ftp through")
	}
}
