package cors

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"

	"github.com/postern/postern/proto/s3err"
)

// The S3 error codes Parse returns.
const (
	CodeMalformedXML             = "MalformedXML"
	CodeInvalidRequest           = "InvalidRequest"
	CodeMaxMessageLengthExceeded = "MaxMessageLengthExceeded"
)

const malformedMessage = "The XML you provided was not well-formed or did not validate against our published schema"

func errMalformed() *s3err.Error {
	return &s3err.Error{Code: CodeMalformedXML, Message: malformedMessage, Status: 400}
}

func errInvalid(msg string) *s3err.Error {
	return &s3err.Error{Code: CodeInvalidRequest, Message: msg, Status: 400}
}

// allowedMethods are the only AllowedMethod values S3 accepts (CORSRule:
// "Valid values are GET, PUT, HEAD, POST, and DELETE."). The comparison is
// exact; S3 rejects anything else, OPTIONS and "" included, as InvalidRequest.
func allowedMethod(m string) bool {
	switch m {
	case "GET", "PUT", "POST", "DELETE", "HEAD":
		return true
	}
	return false
}

// The decoding shapes. Every element of the schema is collected as a list so
// that repeated singletons (two IDs, two MaxAgeSeconds) can be told apart
// and rejected, and unknown elements are collected through ",any" so they
// can be rejected as a schema violation, which is what S3 does with them.
type xmlConfig struct {
	XMLName xml.Name
	Rules   []xmlRule  `xml:"CORSRule"`
	Unknown []xml.Name `xml:",any"`
}

type xmlRule struct {
	ID             []string   `xml:"ID"`
	AllowedOrigins []string   `xml:"AllowedOrigin"`
	AllowedMethods []string   `xml:"AllowedMethod"`
	AllowedHeaders []string   `xml:"AllowedHeader"`
	ExposeHeaders  []string   `xml:"ExposeHeader"`
	MaxAgeSeconds  []string   `xml:"MaxAgeSeconds"`
	Unknown        []xml.Name `xml:",any"`
}

// Parse decodes and validates a CORSConfiguration document as sent to
// PutBucketCors. All failures are *s3err.Error:
//
//   - MaxMessageLengthExceeded (400) for a document over MaxDocumentSize
//     bytes (the 64 KB limit is documented; the code S3 uses for it is not,
//     this is S3's general "Your request was too big." code);
//   - MalformedXML (400) for XML that is not well formed or does not follow
//     the schema: a root other than CORSConfiguration (in S3's namespace or
//     none), unknown elements, a repeated ID or MaxAgeSeconds, a
//     MaxAgeSeconds that is not a 32-bit integer, no CORSRule at all, or a
//     rule without AllowedOrigin or without AllowedMethod (S3 answers all of
//     these MalformedXML, being schema violations);
//   - InvalidRequest (400), with S3's wording where it is known:
//     "Found unsupported HTTP method in CORS config. Unsupported method is M",
//     `AllowedOrigin "O" can not have more than one wildcard.`,
//     `AllowedHeader "H" can not have more than one wildcard.`,
//     "The number of CORS rules should not exceed allowed limit of 100 rules.",
//     and, with wording of our own as S3's is not documented, an ID over 255
//     characters or a negative MaxAgeSeconds.
//
// Values are kept verbatim, without trimming: S3 stores and returns them as
// sent, and compares methods exactly. An empty AllowedOrigin is accepted, as
// S3 accepts it. ExposeHeader values are not checked (S3 accepts any).
func Parse(data []byte) (*Config, error) {
	if len(data) > MaxDocumentSize {
		return nil, &s3err.Error{Code: CodeMaxMessageLengthExceeded, Message: "Your request was too big.", Status: 400}
	}
	return parse(data)
}

// parse is Parse without the size limit. Marshal may write a document larger
// than the one parsed (it escapes quotes and line breaks), so tests use it
// to check round trips of documents near the limit.
func parse(data []byte) (*Config, error) {
	var doc xmlConfig
	d := xml.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&doc); err != nil {
		return nil, errMalformed()
	}
	// Only comments, processing instructions and white space may follow
	// the root element.
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errMalformed()
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, errMalformed()
			}
		default:
			return nil, errMalformed()
		}
	}
	if doc.XMLName.Local != "CORSConfiguration" ||
		(doc.XMLName.Space != "" && doc.XMLName.Space != Namespace) ||
		len(doc.Unknown) != 0 || len(doc.Rules) == 0 {
		return nil, errMalformed()
	}
	// S3 checks the rule count before the rules' content.
	if len(doc.Rules) > MaxRules {
		return nil, errInvalid("The number of CORS rules should not exceed allowed limit of 100 rules.")
	}

	cfg := &Config{Rules: make([]Rule, 0, len(doc.Rules))}
	for _, xr := range doc.Rules {
		r, err := convertRule(xr)
		if err != nil {
			return nil, err
		}
		cfg.Rules = append(cfg.Rules, r)
	}
	return cfg, nil
}

// convertRule checks one decoded rule, schema first, then content.
func convertRule(xr xmlRule) (Rule, error) {
	if len(xr.Unknown) != 0 || len(xr.ID) > 1 || len(xr.MaxAgeSeconds) > 1 ||
		len(xr.AllowedOrigins) == 0 || len(xr.AllowedMethods) == 0 {
		return Rule{}, errMalformed()
	}
	r := Rule{
		AllowedOrigins: xr.AllowedOrigins,
		AllowedMethods: xr.AllowedMethods,
		AllowedHeaders: xr.AllowedHeaders,
		ExposeHeaders:  xr.ExposeHeaders,
	}
	if len(xr.MaxAgeSeconds) == 1 {
		// xs:int, whose lexical space allows surrounding white space.
		n, err := strconv.ParseInt(strings.TrimSpace(xr.MaxAgeSeconds[0]), 10, 32)
		if err != nil {
			return Rule{}, errMalformed()
		}
		if n < 0 {
			return Rule{}, errInvalid("MaxAgeSeconds must not be negative.")
		}
		v := int(n)
		r.MaxAgeSeconds = &v
	}
	if len(xr.ID) == 1 {
		r.ID = xr.ID[0]
		if len([]rune(r.ID)) > MaxIDLength {
			return Rule{}, errInvalid("The ID of a CORS rule cannot be longer than 255 characters.")
		}
	}
	for _, m := range r.AllowedMethods {
		if !allowedMethod(m) {
			return Rule{}, errInvalid("Found unsupported HTTP method in CORS config. Unsupported method is " + m)
		}
	}
	for _, o := range r.AllowedOrigins {
		if strings.Count(o, "*") > 1 {
			return Rule{}, errInvalid(`AllowedOrigin "` + o + `" can not have more than one wildcard.`)
		}
	}
	for _, h := range r.AllowedHeaders {
		if strings.Count(h, "*") > 1 {
			return Rule{}, errInvalid(`AllowedHeader "` + h + `" can not have more than one wildcard.`)
		}
	}
	return r, nil
}

// Marshal renders the configuration as the GetBucketCors response body: an
// XML declaration and a CORSConfiguration element in S3's namespace. Each
// CORSRule lists its elements in the order of the S3 API model (ID,
// AllowedHeader, AllowedMethod, AllowedOrigin, ExposeHeader, MaxAgeSeconds),
// omitting those not set, as S3 gives back only the members that were set.
// Parse(c.Marshal()) yields an equal configuration for any configuration
// Parse returned.
//
// The method is not called MarshalXML: go vet requires a method of that name
// to implement xml.Marshaler.
func (c *Config) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<CORSConfiguration xmlns="` + Namespace + `">`)
	if c != nil {
		for i := range c.Rules {
			r := &c.Rules[i]
			b.WriteString("<CORSRule>")
			if r.ID != "" {
				element(&b, "ID", r.ID)
			}
			elements(&b, "AllowedHeader", r.AllowedHeaders)
			elements(&b, "AllowedMethod", r.AllowedMethods)
			elements(&b, "AllowedOrigin", r.AllowedOrigins)
			elements(&b, "ExposeHeader", r.ExposeHeaders)
			if r.MaxAgeSeconds != nil {
				element(&b, "MaxAgeSeconds", strconv.Itoa(*r.MaxAgeSeconds))
			}
			b.WriteString("</CORSRule>")
		}
	}
	b.WriteString("</CORSConfiguration>")
	return b.Bytes()
}

func elements(b *bytes.Buffer, name string, values []string) {
	for _, v := range values {
		element(b, name, v)
	}
}

func element(b *bytes.Buffer, name, value string) {
	b.WriteString("<" + name + ">")
	// EscapeText writes to a bytes.Buffer, which cannot fail.
	_ = xml.EscapeText(b, []byte(value))
	b.WriteString("</" + name + ">")
}
