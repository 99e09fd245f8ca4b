package server

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

// Where the root credentials in effect come from.
const (
	rootFromEnv       = "environment"
	rootFromFile      = "file"
	rootFromGenerated = "generated"
)

// rootResolution is the outcome of resolveRootCredentials.
type rootResolution struct {
	creds  rootCredentials
	source string // rootFromEnv, rootFromFile or rootFromGenerated
	// stale is set when the variables overrode a file that held other
	// credentials (or was damaged); the file now holds the variables' ones.
	stale *rootCredentials
	// saved: the file was written (generated, or updated from the variables).
	saved bool
}

// resolveRootCredentials returns the root credentials of the default account.
// POSTERN_ROOT_ACCESS_KEY/SECRET_KEY win when set, and are then written to
// DATA/root-credentials.json if it holds anything else: the file always holds
// the key in effect, so a later start without the variables keeps it (rather
// than flipping back to an older key). Without the variables the file is
// read, or new credentials are generated and saved there.
func resolveRootCredentials(dataDir string, getenv func(string) string) (r rootResolution, err error) {
	path := filepath.Join(dataDir, rootCredentialsFile)
	ak, sk := getenv("POSTERN_ROOT_ACCESS_KEY"), getenv("POSTERN_ROOT_SECRET_KEY")
	if ak != "" || sk != "" {
		if ak == "" || sk == "" {
			return r, errors.New("set both POSTERN_ROOT_ACCESS_KEY and POSTERN_ROOT_SECRET_KEY, or neither")
		}
		if len(ak) < 3 || len(ak) > 128 || len(sk) < 8 {
			return r, errors.New("POSTERN_ROOT_ACCESS_KEY must be 3–128 characters and POSTERN_ROOT_SECRET_KEY at least 8")
		}
		r.creds, r.source = rootCredentials{ak, sk}, rootFromEnv
		old, err := readRootCredentials(path)
		switch {
		case err == nil && old == r.creds:
			return r, nil
		case err == nil:
			r.stale = &old
		case errors.Is(err, fs.ErrNotExist):
		case errors.Is(err, errDamagedRootFile):
			r.stale = &rootCredentials{}
		default:
			return r, err
		}
		if err := saveRootCredentials(path, r.creds); err != nil {
			return r, fmt.Errorf("updating %s to the credentials of POSTERN_ROOT_ACCESS_KEY/SECRET_KEY: %w", path, err)
		}
		r.saved = true
		return r, nil
	}
	c, err := readRootCredentials(path)
	if err == nil {
		return rootResolution{creds: c, source: rootFromFile}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return r, err
	}
	r.creds = rootCredentials{
		AccessKeyID:     "AKIA" + randomString(idAlphabet, 16),
		SecretAccessKey: randomString(secretAlphabet, 40),
	}
	r.source = rootFromGenerated
	if err := saveRootCredentials(path, r.creds); err != nil {
		return r, err
	}
	r.saved = true
	return r, nil
}

var errDamagedRootFile = errors.New("damaged root credentials file")

func readRootCredentials(path string) (c rootCredentials, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(data, &c); err != nil || c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return c, fmt.Errorf("%s is damaged; remove it to generate new root credentials: %w", path, errDamagedRootFile)
	}
	return c, nil
}

// saveRootCredentials replaces the file atomically (mode 0600).
func saveRootCredentials(path string, c rootCredentials) error {
	data, _ := json.MarshalIndent(c, "", "  ")
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
