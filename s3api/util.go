package s3api

import (
	"crypto/sha256"
	"encoding/hex"
	"github.com/postern/postern/proto/s3err"
	"strconv"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func kv(k, v string) s3err.KV { return s3err.KV{Key: k, Value: v} }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
