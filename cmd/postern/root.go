package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// rootCredentials are the default account's root access key and secret.
type rootCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
}

const rootCredentialsFile = "root-credentials.json"

// Alphabets of AWS-style keys: AKIA… ids in upper-case base32, secrets of 40
// characters from the base64 alphabet.
const (
	idAlphabet     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	// Rejection-free: both alphabets have a power-of-two size.
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// resolveRootCredentials returns the root credentials from the environment,
// or from the data folder, or generates and saves new ones. generated tells
// the caller to print them once.
func resolveRootCredentials(dataDir string, getenv func(string) string) (c rootCredentials, generated bool, err error) {
	ak, sk := getenv("POSTERN_ROOT_ACCESS_KEY"), getenv("POSTERN_ROOT_SECRET_KEY")
	if ak != "" || sk != "" {
		if ak == "" || sk == "" {
			return c, false, errors.New("set both POSTERN_ROOT_ACCESS_KEY and POSTERN_ROOT_SECRET_KEY, or neither")
		}
		if len(ak) < 3 || len(ak) > 128 || len(sk) < 8 {
			return c, false, errors.New("POSTERN_ROOT_ACCESS_KEY must be 3–128 characters and POSTERN_ROOT_SECRET_KEY at least 8")
		}
		return rootCredentials{ak, sk}, false, nil
	}
	path := filepath.Join(dataDir, rootCredentialsFile)
	data, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(data, &c); err != nil || c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return c, false, fmt.Errorf("%s is damaged; remove it to generate new root credentials", path)
		}
		return c, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return c, false, err
	}
	c = rootCredentials{
		AccessKeyID:     "AKIA" + randomString(idAlphabet, 16),
		SecretAccessKey: randomString(secretAlphabet, 40),
	}
	data, _ = json.MarshalIndent(c, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return c, false, err
	}
	f, err := os.Open(tmp)
	if err == nil {
		f.Sync()
		f.Close()
	}
	if err := os.Rename(tmp, path); err != nil {
		return c, false, err
	}
	return c, true, nil
}
