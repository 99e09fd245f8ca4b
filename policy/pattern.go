package policy

import (
	"strings"
	"unicode/utf8"
)

// item kinds of a compiled pattern.
const (
	itLit   = iota // literal text
	itStar         // '*': any run of characters
	itQuest        // '?': exactly one character
	itVar          // ${key} or ${key, 'default'}
)

type item struct {
	kind   uint8
	hasDef bool
	s      string // literal text, or lower-cased variable key
	def    string // default value of a variable
}

// pattern kinds.
const (
	patAny    = iota // matches everything
	patExact         // literal comparison
	patPrefix        // literal prefix followed by a single trailing '*'
	patGlob          // general case: items
)

// pattern is a pre-compiled string matcher with optional wildcards and
// policy variables.
type pattern struct {
	kind  uint8
	fold  bool // ASCII case-insensitive comparison
	lit   string
	items []item
}

// compileOpts selects how compilePattern interprets its input.
type compileOpts struct {
	wild bool // '*' and '?' are wildcards
	vars bool // ${…} policy variables are substituted (Version 2012-10-17)
	fold bool // case-insensitive matching
}

// compilePattern compiles s. With vars, "${*}", "${?}" and "${$}" stand for
// the literal characters; a "${" without a closing brace, or with an empty
// key, is literal text.
func compilePattern(s string, o compileOpts) pattern {
	var items []item
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			items = append(items, item{kind: itLit, s: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case o.wild && c == '*':
			flush()
			if n := len(items); n == 0 || items[n-1].kind != itStar {
				items = append(items, item{kind: itStar})
			}
			i++
		case o.wild && c == '?':
			flush()
			items = append(items, item{kind: itQuest})
			i++
		case o.vars && c == '$' && strings.HasPrefix(s[i:], "${"):
			end, it, ok := parseVariable(s, i)
			if !ok {
				lit.WriteByte(c)
				i++
				continue
			}
			if it.kind == itLit {
				lit.WriteString(it.s)
			} else {
				flush()
				items = append(items, it)
			}
			i = end
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	p := pattern{fold: o.fold}
	switch {
	case len(items) == 0:
		p.kind = patExact
	case len(items) == 1 && items[0].kind == itStar:
		p.kind = patAny
	case len(items) == 1 && items[0].kind == itLit:
		p.kind, p.lit = patExact, items[0].s
	case len(items) == 2 && items[0].kind == itLit && items[1].kind == itStar:
		p.kind, p.lit = patPrefix, items[0].s
	default:
		p.kind, p.items = patGlob, items
	}
	return p
}

// parseVariable parses a policy variable starting at s[i] == '$'. It returns
// the index after the closing brace and the item: a literal for ${*}, ${?}
// and ${$}, otherwise a variable.
func parseVariable(s string, i int) (int, item, bool) {
	j := i + 2
	// Scan to the closing brace, honouring a quoted default value in which
	// '' stands for one quote.
	inQuote := false
	k := j
	for ; k < len(s); k++ {
		c := s[k]
		if inQuote {
			if c == '\'' {
				if k+1 < len(s) && s[k+1] == '\'' {
					k++
					continue
				}
				inQuote = false
			}
			continue
		}
		if c == '\'' {
			inQuote = true
		} else if c == '}' {
			break
		}
	}
	if k >= len(s) {
		return 0, item{}, false
	}
	body := s[j:k]
	end := k + 1
	switch body {
	case "*", "?", "$":
		return end, item{kind: itLit, s: body}, true
	}
	key, def, hasDef := body, "", false
	if c := strings.IndexByte(body, ','); c >= 0 {
		key = body[:c]
		d := strings.TrimSpace(body[c+1:])
		if len(d) < 2 || d[0] != '\'' || d[len(d)-1] != '\'' {
			return 0, item{}, false
		}
		def, hasDef = strings.ReplaceAll(d[1:len(d)-1], "''", "'"), true
	}
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " '${") {
		return 0, item{}, false
	}
	return end, item{kind: itVar, s: strings.ToLower(key), def: def, hasDef: hasDef}, true
}

// match reports whether s matches the pattern, resolving variables from ctx.
// A variable whose key is absent (or multi-valued) and has no default makes
// the pattern not match.
func (p *pattern) match(s string, ctx Context) bool {
	switch p.kind {
	case patAny:
		return true
	case patExact:
		if p.fold {
			return equalFoldASCII(p.lit, s)
		}
		return p.lit == s
	case patPrefix:
		if len(s) < len(p.lit) {
			return false
		}
		if p.fold {
			return equalFoldASCII(p.lit, s[:len(p.lit)])
		}
		return p.lit == s[:len(p.lit)]
	}
	// Fail fast on unresolvable variables.
	for i := range p.items {
		if p.items[i].kind == itVar {
			if _, ok := p.items[i].text(ctx); !ok {
				return false
			}
		}
	}
	return glob(p.items, s, ctx, p.fold)
}

// text returns the literal text of a literal or variable item.
func (it *item) text(ctx Context) (string, bool) {
	if it.kind == itLit {
		return it.s, true
	}
	if v, ok := lookup(ctx, it.s); ok && len(v) == 1 {
		return v[0], true
	}
	if it.hasDef {
		return it.def, true
	}
	return "", false
}

// glob matches s against items with single-star backtracking; it never
// allocates. Substituted variable values are matched literally.
func glob(items []item, s string, ctx Context, fold bool) bool {
	i, j, k := 0, 0, 0 // item index, offset into current literal, offset into s
	starI, starK := -1, 0
	for {
		if i < len(items) {
			it := &items[i]
			switch it.kind {
			case itStar:
				starI, starK = i+1, k
				i, j = i+1, 0
				continue
			case itQuest:
				if k < len(s) {
					_, n := utf8.DecodeRuneInString(s[k:])
					i, j, k = i+1, 0, k+n
					continue
				}
			default:
				t, ok := it.text(ctx)
				if !ok {
					return false
				}
				if j == len(t) {
					i, j = i+1, 0
					continue
				}
				if k < len(s) && (t[j] == s[k] || fold && lowerASCII(t[j]) == lowerASCII(s[k])) {
					j, k = j+1, k+1
					continue
				}
			}
		} else if k == len(s) {
			return true
		}
		// Mismatch: let the last star swallow one more character.
		if starI < 0 || starK >= len(s) {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[starK:])
		starK += n
		i, j, k = starI, 0, starK
	}
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}
