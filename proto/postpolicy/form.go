package postpolicy

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"
)

// Form is a POST Object form: every field before the file part, and the
// file part as a stream.
type Form struct {
	// Fields maps lower-cased field names (S3 treats POST field names
	// case-insensitively) to their values as sent, before ${filename}
	// expansion. A name sent several times has its values joined with ",",
	// which is how S3 expects a policy to match repeated fields.
	Fields map[string]string
	// FileName is the base name of the file part's filename parameter:
	// the text after the last '/' or '\'. Empty when none was sent.
	FileName string
	// FileContentType is the Content-Type header of the file part, if any.
	FileContentType string
	// File streams the content of the file part. It is never buffered:
	// ReadForm returns as soon as the file part's headers are read. Reading
	// it returns io.EOF at the end of the part, or an error (such as
	// io.ErrUnexpectedEOF) when the body is truncated; callers must store
	// the object only after io.EOF.
	File io.Reader
}

// Value returns the field called name (matched case-insensitively) with
// ${filename} replaced by FileName, as S3 expands variables in every form
// field before checking the policy.
func (f *Form) Value(name string) (string, bool) {
	v, ok := f.Fields[strings.ToLower(name)]
	if !ok {
		return "", false
	}
	return strings.ReplaceAll(v, "${filename}", f.FileName), true
}

// Key returns the key field with ${filename} replaced by the uploaded
// file's base name, or "" when the form has no key field.
func (f *Form) Key() string {
	v, _ := f.Value("key")
	return v
}

// ReadForm reads a multipart/form-data POST Object body, with the boundary
// taken from the request's Content-Type. It reads every part up to the first
// form-data part named "file" (case-insensitively) and returns with the file
// unread, exposed as Form.File. Parts after the file are never read: S3
// ignores them.
//
// Errors (all *s3err.Error):
//   - MalformedPOSTRequest (400): a bad boundary or a body that is not
//     well-formed multipart/form-data before the file;
//   - MaxPostPreDataLengthExceeded (400): the parts before the file exceed
//     MaxPreDataSize bytes (names, values, part headers and boundaries) or
//     MaxFields parts;
//   - InvalidArgument (400) "POST requires exactly one file upload per
//     request.": the body ends without a file part.
//
// Parts without a form-data Content-Disposition or a name count towards the
// limits and are otherwise ignored; like S3, only a form-data part named
// "file" is the file, whatever its filename parameter. Parts are read raw:
// a Content-Transfer-Encoding header (which RFC 7578 tells senders not to
// use) is not decoded.
func ReadForm(body io.Reader, boundary string) (*Form, error) {
	if boundary == "" || len(boundary) > 70 || strings.ContainsAny(boundary, "\r\n") {
		return nil, errMalformed()
	}
	// The gate bounds what the multipart reader may pull from body until the
	// file part is found, so oversized part headers cannot make it buffer
	// without limit. The slack covers its read-ahead buffer.
	g := &gate{r: body, left: MaxPreDataSize + 16<<10}
	mr := multipart.NewReader(g, boundary)
	form := &Form{Fields: map[string]string{}}
	used := 0
	for parts := 0; ; parts++ {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			// The multipart reader also reports a bare io.EOF for a body
			// truncated inside part headers; only a close delimiter
			// ends a well-formed body.
			if !g.sawClose(boundary) {
				return nil, errMalformed()
			}
			return nil, errNoFile()
		}
		if err != nil {
			if g.tripped {
				return nil, errPreDataTooLarge()
			}
			return nil, errMalformed()
		}
		if parts >= MaxFields {
			return nil, errPreDataTooLarge()
		}
		used += partOverhead(part, boundary)
		if used > MaxPreDataSize {
			return nil, errPreDataTooLarge()
		}
		name, fileName, hasName := formName(part)
		if hasName && strings.EqualFold(name, "file") {
			g.open, g.seen = true, nil
			form.FileName = baseName(fileName)
			form.FileContentType = part.Header.Get("Content-Type")
			form.File = part
			return form, nil
		}
		value, err := io.ReadAll(io.LimitReader(part, int64(MaxPreDataSize-used+1)))
		if err != nil {
			if g.tripped {
				return nil, errPreDataTooLarge()
			}
			return nil, errMalformed()
		}
		used += len(value)
		if used > MaxPreDataSize {
			return nil, errPreDataTooLarge()
		}
		if !hasName {
			continue
		}
		key := strings.ToLower(name)
		if prev, dup := form.Fields[key]; dup {
			form.Fields[key] = prev + "," + string(value)
		} else {
			form.Fields[key] = string(value)
		}
	}
}

// formName returns the name and filename parameters of a part's
// Content-Disposition; ok is false unless it is form-data with a non-empty
// name.
func formName(p *multipart.Part) (name, fileName string, ok bool) {
	disp, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil || !strings.EqualFold(disp, "form-data") || params["name"] == "" {
		return "", "", false
	}
	return params["name"], params["filename"], true
}

// baseName keeps the text after the last slash or backslash, as S3 does for
// ${filename} ("C:\Program Files\directory1\file.txt" becomes "file.txt").
func baseName(s string) string {
	return s[strings.LastIndexAny(s, `/\`)+1:]
}

// partOverhead approximates the bytes a part costs besides its value: the
// delimiter line, the header lines, the blank line and the CRLF that ends
// the value.
func partOverhead(p *multipart.Part, boundary string) int {
	n := 2 + len(boundary) + 2 + 2 + 2
	for k, vs := range p.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

var errGate = errors.New("postpolicy: form data before the file is too large")

// gate passes reads through, refusing to deliver more than left bytes until
// it is opened. Until then it also keeps what it delivered (bounded by left)
// so that the end of a body without a file can be told from a truncation.
type gate struct {
	r       io.Reader
	left    int64
	open    bool
	tripped bool
	seen    []byte
}

// sawClose reports whether the bytes read so far hold a close delimiter
// ("--boundary--") at the start of a line.
func (g *gate) sawClose(boundary string) bool {
	d := "--" + boundary + "--"
	return bytes.HasPrefix(g.seen, []byte(d)) || bytes.Contains(g.seen, []byte("\n"+d))
}

func (g *gate) Read(p []byte) (int, error) {
	if g.open {
		return g.r.Read(p)
	}
	if g.left <= 0 {
		g.tripped = true
		return 0, errGate
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, err := g.r.Read(p)
	g.left -= int64(n)
	g.seen = append(g.seen, p[:n]...)
	return n, err
}
