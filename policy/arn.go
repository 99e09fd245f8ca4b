package policy

import "strings"

// arn is a split Amazon Resource Name.
type arn struct {
	partition, service, region, account, resource string
}

// parseARN splits "arn:partition:service:region:account:resource". The
// resource part may itself contain colons.
func parseARN(s string) (arn, bool) {
	if !strings.HasPrefix(s, "arn:") {
		return arn{}, false
	}
	var parts [5]string
	rest := s[4:]
	for i := 0; i < 4; i++ {
		c := strings.IndexByte(rest, ':')
		if c < 0 {
			return arn{}, false
		}
		parts[i], rest = rest[:c], rest[c+1:]
	}
	parts[4] = rest
	a := arn{parts[0], parts[1], parts[2], parts[3], parts[4]}
	if a.partition == "" || a.service == "" {
		return arn{}, false
	}
	return a, true
}

// splitARN6 splits s into the six colon-separated ARN components, ignoring
// colons inside ${…} policy variables when vars is set. The sixth component
// keeps any further colons.
func splitARN6(s string, vars bool) ([6]string, bool) {
	var out [6]string
	n, start, depth := 0, 0, 0
	for i := 0; i < len(s) && n < 5; i++ {
		switch {
		case vars && s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
		case vars && s[i] == '}' && depth > 0:
			depth--
		case s[i] == ':' && depth == 0:
			out[n] = s[start:i]
			n++
			start = i + 1
		}
	}
	if n < 5 {
		return out, false
	}
	out[5] = s[start:]
	return out, true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
