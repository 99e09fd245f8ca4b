package s3api

import (
	"encoding/xml"
	"net/http"

	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/s3err"
)

// listVersionsResult is S3's ListVersionsResult.
type listVersionsResult struct {
	XMLName             xml.Name `xml:"ListVersionsResult"`
	Xmlns               string   `xml:"xmlns,attr"`
	Name                string   `xml:"Name"`
	Prefix              string   `xml:"Prefix"`
	KeyMarker           string   `xml:"KeyMarker"`
	VersionIDMarker     string   `xml:"VersionIdMarker"`
	NextKeyMarker       string   `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string   `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int      `xml:"MaxKeys"`
	Delimiter           string   `xml:"Delimiter,omitempty"`
	IsTruncated         bool     `xml:"IsTruncated"`
	EncodingType        string   `xml:"EncodingType,omitempty"`
	// Entries are Version and DeleteMarker elements, interleaved in
	// listing order as S3 sends them; each entry names its element.
	Entries        []versionEntry `xml:""`
	CommonPrefixes []commonPrefix `xml:"CommonPrefixes"`
}

// versionEntry is a Version or a DeleteMarker element (XMLName says which).
// A delete marker has no ETag, size, checksum or storage class.
type versionEntry struct {
	XMLName           xml.Name
	Key               string `xml:"Key"`
	VersionID         string `xml:"VersionId"`
	IsLatest          bool   `xml:"IsLatest"`
	LastModified      string `xml:"LastModified"`
	ETag              string `xml:"ETag,omitempty"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
	Size              *int64 `xml:"Size,omitempty"`
	Owner             owner  `xml:"Owner"`
	StorageClass      string `xml:"StorageClass,omitempty"`
}

// listVersionsParams are a ListObjectVersions request's validated parameters.
type listVersionsParams struct {
	prefix, delim, keyMarker, versionIDMarker string
	maxKeys                                   int
	enc                                       string
}

// parseListVersions validates a ListObjectVersions query in the order S3
// does, so that a request with several faults gets S3's error: max-keys,
// then the version-id marker, then encoding-type.
func parseListVersions(q query) (listVersionsParams, error) {
	var p listVersionsParams
	var err error
	if p.maxKeys, err = parseMaxKeys(q, "max-keys", MaxListKeys); err != nil {
		return p, err
	}
	p.prefix, p.delim, p.keyMarker = q.Get("prefix"), q.Get("delimiter"), q.Get("key-marker")
	if vid, ok := q.Lookup("version-id-marker"); ok {
		badMarker := func(msg string) error {
			e := s3err.InvalidArgument(msg)
			e.Extra = append(e.Extra, kv("ArgumentName", "version-id-marker"), kv("ArgumentValue", vid))
			return e
		}
		switch {
		case p.keyMarker == "":
			return p, badMarker("A version-id marker cannot be specified without a key marker.")
		case vid == "":
			return p, badMarker("A version-id marker cannot be empty.")
		case !meta.IsVersionID(vid):
			return p, badMarker("Invalid version id specified")
		}
		p.versionIDMarker = vid
	}
	if p.enc, err = encodingType(q); err != nil {
		return p, err
	}
	return p, nil
}

// listObjectVersions is ListObjectVersions (GET /bucket?versions). Every
// bucket answers it, versioned or not: today each object is listed once, as
// its key's null version.
func (h *Handler) listObjectVersions(req *request, b *meta.Bucket) error {
	p, err := parseListVersions(req.query())
	if err != nil {
		return err
	}
	page, err := h.deps.Meta.ListVersions(req.r.Context(), b.Name, meta.ListVersionsOptions{
		Prefix: p.prefix, Delimiter: p.delim, KeyMarker: p.keyMarker, VersionIDMarker: p.versionIDMarker, MaxKeys: p.maxKeys,
	})
	if err != nil {
		return err
	}
	return writeXML(req.w, http.StatusOK, versionsResult(b.Name, p, page, h.ownerOf(b.Owner)))
}

// versionsResult builds the response body of a listing page. Every entry is
// owned by the bucket owner (objects have no owner of their own yet).
func versionsResult(bucket string, p listVersionsParams, page meta.ListVersionsResult, ow owner) listVersionsResult {
	enc := p.enc
	res := listVersionsResult{
		Xmlns:           s3Namespace,
		Name:            bucket,
		Prefix:          maybeEncode(p.prefix, enc),
		KeyMarker:       maybeEncode(p.keyMarker, enc),
		VersionIDMarker: p.versionIDMarker,
		MaxKeys:         p.maxKeys,
		Delimiter:       maybeEncode(p.delim, enc),
		IsTruncated:     page.IsTruncated,
		EncodingType:    enc,
		Entries:         make([]versionEntry, 0, len(page.Versions)),
		CommonPrefixes:  prefixes(page.CommonPrefixes, enc),
	}
	if page.IsTruncated {
		res.NextKeyMarker = maybeEncode(page.NextKeyMarker, enc)
		res.NextVersionIDMarker = page.NextVersionIDMarker
	}
	for i := range page.Versions {
		v := &page.Versions[i]
		e := versionEntry{
			XMLName:      xml.Name{Local: "Version"},
			Key:          maybeEncode(v.Key, enc),
			VersionID:    v.VersionID,
			IsLatest:     v.IsLatest,
			LastModified: xmlTime(v.LastModified),
			Owner:        ow,
		}
		if v.DeleteMarker {
			e.XMLName.Local = "DeleteMarker"
		} else {
			size := v.Size
			e.ETag, e.Size, e.StorageClass = `"`+v.ETag+`"`, &size, "STANDARD"
			for alg := range v.Checksums {
				e.ChecksumAlgorithm, e.ChecksumType = alg, v.ChecksumType
				break
			}
		}
		res.Entries = append(res.Entries, e)
	}
	return res
}
