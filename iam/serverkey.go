package iam

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ServerKeyFile is the server key's file name in the data folder.
const ServerKeyFile = "server.key"

// ParseServerKey decodes a server key given as 64 hex digits or as base64
// (standard or URL alphabet, padded or not) of 32 bytes.
func ParseServerKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*ServerKeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == ServerKeySize {
			return k, nil
		}
	}
	// Never echo the value: it is a secret.
	return nil, fmt.Errorf("the server key must be %d bytes as hex (%d digits) or base64", ServerKeySize, 2*ServerKeySize)
}

// LoadServerKey returns the server key: given (hex or base64) when not empty,
// else the contents of DATA/server.key, which is created with 32 random bytes
// and mode 0600 when missing. created reports that a new key was made. A key
// file readable by group or others is refused.
func LoadServerKey(dataDir, given string) (key []byte, created bool, err error) {
	if given != "" {
		k, err := ParseServerKey(given)
		return k, false, err
	}
	path := filepath.Join(dataDir, ServerKeyFile)
	key, err = readKeyFile(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	key = make([]byte, ServerKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("server key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process won the race
		key, err = readKeyFile(path)
		return key, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("server key: %w", err)
	}
	_, werr := f.Write(key)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("server key %s: %w", path, err)
	}
	if d, err := os.Open(dataDir); err == nil {
		d.Sync()
		d.Close()
	}
	return key, true, nil
}

func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("server key %s is readable by others (mode %v): run chmod 600 on it", path, fi.Mode().Perm())
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server key: %w", err)
	}
	if len(key) != ServerKeySize {
		return nil, fmt.Errorf("server key %s has %d bytes, want %d; it is damaged", path, len(key), ServerKeySize)
	}
	return key, nil
}
