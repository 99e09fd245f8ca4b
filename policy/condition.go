package policy

import (
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Base condition operator families.
const (
	opString = iota + 1
	opStringIgnoreCase
	opStringLike
	opNumericEq
	opNumericLt
	opNumericLe
	opNumericGt
	opNumericGe
	opDateEq
	opDateLt
	opDateLe
	opDateGt
	opDateGe
	opBool
	opBinary
	opIP
	opARN
	opNull
)

// Set qualifiers.
const (
	setNone = iota
	setAnyValue
	setAllValues
)

type opInfo struct {
	op     uint8
	negate bool
}

// operators maps every base operator name (without set qualifier and
// IfExists suffix) to its family. Names are case-sensitive, as in AWS.
var operators = map[string]opInfo{
	"StringEquals":              {opString, false},
	"StringNotEquals":           {opString, true},
	"StringEqualsIgnoreCase":    {opStringIgnoreCase, false},
	"StringNotEqualsIgnoreCase": {opStringIgnoreCase, true},
	"StringLike":                {opStringLike, false},
	"StringNotLike":             {opStringLike, true},
	"NumericEquals":             {opNumericEq, false},
	"NumericNotEquals":          {opNumericEq, true},
	"NumericLessThan":           {opNumericLt, false},
	"NumericLessThanEquals":     {opNumericLe, false},
	"NumericGreaterThan":        {opNumericGt, false},
	"NumericGreaterThanEquals":  {opNumericGe, false},
	"DateEquals":                {opDateEq, false},
	"DateNotEquals":             {opDateEq, true},
	"DateLessThan":              {opDateLt, false},
	"DateLessThanEquals":        {opDateLe, false},
	"DateGreaterThan":           {opDateGt, false},
	"DateGreaterThanEquals":     {opDateGe, false},
	"Bool":                      {opBool, false},
	"BinaryEquals":              {opBinary, false},
	"IpAddress":                 {opIP, false},
	"NotIpAddress":              {opIP, true},
	"ArnEquals":                 {opARN, false},
	"ArnLike":                   {opARN, false},
	"ArnNotEquals":              {opARN, true},
	"ArnNotLike":                {opARN, true},
	"Null":                      {opNull, false},
}

// cond is one compiled (operator, key, values) triple.
type cond struct {
	op       uint8
	negate   bool
	ifExists bool
	set      uint8
	key      string // lower-cased
	strs     []pattern
	arns     [][6]pattern
	nums     []float64
	times    []time.Time
	bools    []bool
	nets     []netip.Prefix
	null     bool // Null: true means "key must be absent"
}

// parseOperator splits "ForAnyValue:StringLikeIfExists" into its parts.
func parseOperator(name string) (info opInfo, set uint8, ifExists bool, ok bool) {
	base := name
	if q, rest, found := strings.Cut(name, ":"); found {
		switch q {
		case "ForAnyValue":
			set = setAnyValue
		case "ForAllValues":
			set = setAllValues
		default:
			return opInfo{}, 0, false, false
		}
		base = rest
	}
	if b, found := strings.CutSuffix(base, "IfExists"); found {
		base, ifExists = b, true
	}
	info, ok = operators[base]
	if ok && info.op == opNull && (ifExists || set != setNone) {
		return opInfo{}, 0, false, false
	}
	return info, set, ifExists, ok
}

// compileCondition compiles one operator → key → values entry.
func compileCondition(opName string, key string, vals []string, vars bool, e *errs) (cond, bool) {
	info, set, ifExists, ok := parseOperator(opName)
	if !ok {
		return cond{}, e.fail("Invalid Condition type : " + opName)
	}
	if !validConditionKey(key) {
		return cond{}, e.fail("Policy has an invalid condition key: " + strconv.Quote(key))
	}
	c := cond{op: info.op, negate: info.negate, ifExists: ifExists, set: set, key: strings.ToLower(key)}
	bad := func(v, what string) bool {
		return e.fail("Invalid value " + strconv.Quote(v) + " for condition " + opName + " on key " + key + ": " + what)
	}
	for _, v := range vals {
		switch c.op {
		case opString:
			c.strs = append(c.strs, compilePattern(v, compileOpts{vars: vars}))
		case opStringIgnoreCase:
			p := compilePattern(v, compileOpts{vars: vars})
			c.strs = append(c.strs, p)
		case opStringLike:
			c.strs = append(c.strs, compilePattern(v, compileOpts{wild: true, vars: vars}))
		case opNumericEq, opNumericLt, opNumericLe, opNumericGt, opNumericGe:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return cond{}, bad(v, "not a number")
			}
			c.nums = append(c.nums, f)
		case opDateEq, opDateLt, opDateLe, opDateGt, opDateGe:
			t, ok := parseDate(v)
			if !ok {
				return cond{}, bad(v, "not an ISO 8601 date or epoch time")
			}
			c.times = append(c.times, t)
		case opBool:
			switch strings.ToLower(v) {
			case "true":
				c.bools = append(c.bools, true)
			case "false":
				c.bools = append(c.bools, false)
			default:
				return cond{}, bad(v, "not true or false")
			}
		case opBinary:
			if _, err := base64.StdEncoding.DecodeString(v); err != nil {
				return cond{}, bad(v, "not base64")
			}
			c.strs = append(c.strs, pattern{kind: patExact, lit: v})
		case opIP:
			pfx, ok := parseCIDR(v)
			if !ok {
				return cond{}, bad(v, "not an IP address or CIDR block")
			}
			c.nets = append(c.nets, pfx)
		case opARN:
			if v == "*" {
				var a [6]pattern
				for i := range a {
					a[i] = pattern{kind: patAny}
				}
				c.arns = append(c.arns, a)
				continue
			}
			parts, ok := splitARN6(v, vars)
			if !ok || parts[0] != "arn" {
				return cond{}, bad(v, "not an ARN")
			}
			var a [6]pattern
			for i, part := range parts {
				a[i] = compilePattern(part, compileOpts{wild: true, vars: vars})
			}
			c.arns = append(c.arns, a)
		case opNull:
			switch strings.ToLower(v) {
			case "true":
				c.null = true
			case "false":
				c.null = false
			default:
				return cond{}, bad(v, "not true or false")
			}
			if len(vals) != 1 {
				return cond{}, bad(v, "Null takes exactly one value")
			}
		}
	}
	return c, true
}

// validConditionKey accepts "prefix:name" keys such as aws:SourceIp,
// s3:prefix or aws:ResourceTag/Project.
func validConditionKey(k string) bool {
	pfx, name, ok := strings.Cut(k, ":")
	if !ok || pfx == "" || name == "" {
		return false
	}
	for i := 0; i < len(pfx); i++ {
		c := pfx[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] == 0x7f {
			return false
		}
	}
	return true
}

// parseCIDR accepts a CIDR block or a plain IPv4/IPv6 address.
func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

var dateLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02",
	"20060102T150405Z",
}

// parseDate accepts ISO 8601 dates (several common forms) and epoch seconds.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if isEpoch(s) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, false
		}
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func isEpoch(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c == '-' && i == 0 && len(s) > 1:
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return true
}

// eval evaluates the condition against the request context following AWS's
// rules for absent keys and set qualifiers.
func (c *cond) eval(ctx Context) bool {
	vals, present := lookup(ctx, c.key)
	if c.op == opNull {
		return c.null != present
	}
	if !present {
		switch {
		case c.set == setAllValues:
			return true
		case c.ifExists:
			return true
		case c.set == setAnyValue:
			return false
		}
		return c.negate
	}
	switch c.set {
	case setAllValues:
		for _, v := range vals {
			if c.matchAny(v, ctx) == c.negate {
				return false
			}
		}
		return true
	case setAnyValue:
		for _, v := range vals {
			if c.matchAny(v, ctx) != c.negate {
				return true
			}
		}
		return false
	}
	// No qualifier: a positive operator matches if any request value matches
	// any policy value; a negated one if none does.
	for _, v := range vals {
		if c.matchAny(v, ctx) {
			return !c.negate
		}
	}
	return c.negate
}

// matchAny reports whether the single request value v matches any policy
// value in the positive sense of the operator.
func (c *cond) matchAny(v string, ctx Context) bool {
	switch c.op {
	case opString, opStringLike, opBinary:
		for i := range c.strs {
			if c.strs[i].match(v, ctx) {
				return true
			}
		}
	case opStringIgnoreCase:
		for i := range c.strs {
			p := &c.strs[i]
			if p.kind == patExact {
				if strings.EqualFold(p.lit, v) {
					return true
				}
			} else if matchVarsFold(p, v, ctx) {
				return true
			}
		}
	case opNumericEq, opNumericLt, opNumericLe, opNumericGt, opNumericGe:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false
		}
		for _, n := range c.nums {
			if cmpOK(c.op-opNumericEq, compareFloat(f, n)) {
				return true
			}
		}
	case opDateEq, opDateLt, opDateLe, opDateGt, opDateGe:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		for _, d := range c.times {
			if cmpOK(c.op-opDateEq, t.Compare(d)) {
				return true
			}
		}
	case opBool:
		var b bool
		switch {
		case strings.EqualFold(v, "true"):
			b = true
		case strings.EqualFold(v, "false"):
		default:
			return false
		}
		for _, x := range c.bools {
			if x == b {
				return true
			}
		}
	case opIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			p, ok := parseCIDR(v)
			if !ok || !p.IsSingleIP() {
				return false
			}
			a = p.Addr()
		}
		a = a.Unmap()
		for _, n := range c.nets {
			if n.Contains(a) {
				return true
			}
		}
	case opARN:
		parts, ok := splitARN6(v, false)
		if !ok || parts[0] != "arn" {
			return false
		}
		for i := range c.arns {
			a := &c.arns[i]
			m := true
			for j := 0; j < 6 && m; j++ {
				m = a[j].match(parts[j], ctx)
			}
			if m {
				return true
			}
		}
	}
	return false
}

// matchVarsFold compares v case-insensitively with a pattern holding
// variables (StringEqualsIgnoreCase with ${…}).
func matchVarsFold(p *pattern, v string, ctx Context) bool {
	rest := v
	for i := range p.items {
		t, ok := p.items[i].text(ctx)
		if !ok || len(rest) < len(t) || !strings.EqualFold(rest[:len(t)], t) {
			return false
		}
		rest = rest[len(t):]
	}
	return rest == ""
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpOK applies comparison rel (0 eq, 1 lt, 2 le, 3 gt, 4 ge) to the result
// of comparing request value against policy value.
func cmpOK(rel uint8, c int) bool {
	switch rel {
	case 0:
		return c == 0
	case 1:
		return c < 0
	case 2:
		return c <= 0
	case 3:
		return c > 0
	case 4:
		return c >= 0
	}
	return false
}
