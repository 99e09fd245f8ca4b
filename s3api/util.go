package s3api

import (
	"crypto/sha256"
	"encoding/hex"
	"github.com/postern/postern/proto/sigv4"
	"strconv"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func kv(k, v string) sigv4.KV { return sigv4.KV{Key: k, Value: v} }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
