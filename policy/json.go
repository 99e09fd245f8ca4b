package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// jkind is the type of a decoded JSON value.
type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNumber
	jString
	jArray
	jObject
)

// jval is a decoded JSON value that, unlike map[string]any, keeps object
// members in order and lets the parser detect duplicate and unknown keys.
type jval struct {
	kind jkind
	s    string // string text, or number text
	b    bool
	arr  []jval
	obj  []jmember
}

type jmember struct {
	key string
	val jval
}

const maxJSONDepth = 32

var errDuplicateKey = errors.New("duplicate key")

// decodeJSON decodes exactly one JSON value from doc.
func decodeJSON(doc []byte) (jval, string, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	v, dup, err := decodeValue(dec, 0)
	if err != nil {
		return jval{}, dup, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jval{}, "", errors.New("trailing data after the policy document")
	}
	return v, "", nil
}

func decodeValue(dec *json.Decoder, depth int) (jval, string, error) {
	if depth > maxJSONDepth {
		return jval{}, "", errors.New("document nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return jval{}, "", err
	}
	switch t := tok.(type) {
	case nil:
		return jval{kind: jNull}, "", nil
	case bool:
		return jval{kind: jBool, b: t}, "", nil
	case json.Number:
		return jval{kind: jNumber, s: string(t)}, "", nil
	case string:
		return jval{kind: jString, s: t}, "", nil
	case json.Delim:
		switch t {
		case '[':
			v := jval{kind: jArray}
			for dec.More() {
				e, dup, err := decodeValue(dec, depth+1)
				if err != nil {
					return jval{}, dup, err
				}
				v.arr = append(v.arr, e)
			}
			if _, err := dec.Token(); err != nil {
				return jval{}, "", err
			}
			return v, "", nil
		case '{':
			v := jval{kind: jObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return jval{}, "", err
				}
				key, ok := kt.(string)
				if !ok {
					return jval{}, "", errors.New("object key is not a string")
				}
				for _, m := range v.obj {
					if m.key == key {
						return jval{}, key, errDuplicateKey
					}
				}
				e, dup, err := decodeValue(dec, depth+1)
				if err != nil {
					return jval{}, dup, err
				}
				v.obj = append(v.obj, jmember{key, e})
			}
			if _, err := dec.Token(); err != nil {
				return jval{}, "", err
			}
			return v, "", nil
		}
	}
	return jval{}, "", errors.New("unexpected JSON token")
}

// scalarText returns the text of a string, number or boolean value.
func (v *jval) scalarText() (string, bool) {
	switch v.kind {
	case jString, jNumber:
		return v.s, true
	case jBool:
		if v.b {
			return "true", true
		}
		return "false", true
	}
	return "", false
}
