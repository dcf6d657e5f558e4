package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// SigningKey is the module signing key of every kernel the cache builds.
// It is generated once into cache/keys/ and never enters the repository:
// kernels embed its certificate (CONFIG_MODULE_SIG_KEY) and, with
// CONFIG_MODULE_SIG_FORCE, load only modules signed with it.
type SigningKey struct {
	// Key is a PEM file holding the private key and the certificate, the
	// form CONFIG_MODULE_SIG_KEY takes.
	Key string
	// Cert is the PEM certificate alone, for scripts/sign-file.
	Cert string
	// CertHash is the SHA-256 of Cert's bytes (hex): part of every kernel
	// key, so a new signing key means new kernels.
	CertHash string
}

// signingKeyConfig is the openssl request configuration, the one the
// kernel's certs/default_x509.genkey uses for its own generated key.
const signingKeyConfig = `[ req ]
default_bits = 4096
distinguished_name = req_distinguished_name
prompt = no
string_mask = utf8only
x509_extensions = myexts

[ req_distinguished_name ]
CN = specbed module signing key

[ myexts ]
basicConstraints=critical,CA:FALSE
keyUsage=digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
`

// signingKeyDays is the certificate's validity (days): the cache may live
// for years, and an expired certificate would fail module loads.
const signingKeyDays = 36500

// keysDir is where the signing key lives; 'specbed images clean' keeps it
// unless asked to remove it.
func (b *Builder) keysDir() string { return filepath.Join(b.Cache, "keys") }

// SigningKey returns the cache's module signing key, generating it (RSA
// 4096, SHA-256) on first use.
func (b *Builder) SigningKey(ctx context.Context) (*SigningKey, error) {
	dir := b.keysDir()
	key := &SigningKey{Key: filepath.Join(dir, "signing_key.pem"), Cert: filepath.Join(dir, "signing_cert.pem")}
	if !fileExists(key.Key) {
		unlock, err := b.lock(ctx, "keys")
		if err != nil {
			return nil, err
		}
		defer unlock()
		if !fileExists(key.Key) {
			if err := b.generateSigningKey(ctx, dir, key); err != nil {
				return nil, fmt.Errorf("module signing key: %w", err)
			}
		}
	}
	cert, err := os.ReadFile(key.Cert)
	if err != nil {
		return nil, fmt.Errorf("module signing certificate: %w", err)
	}
	sum := sha256.Sum256(cert)
	key.CertHash = hex.EncodeToString(sum[:])
	return key, nil
}

// generateSigningKey writes the key pair in a temporary folder and renames
// the files into place, the combined key file last: its presence means the
// pair is complete.
func (b *Builder) generateSigningKey(ctx context.Context, dir string, key *SigningKey) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, ".gen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b.logf("generating the module signing key in %s", dir)
	conf := filepath.Join(tmp, "x509.genkey")
	if err := os.WriteFile(conf, []byte(signingKeyConfig), 0o600); err != nil {
		return err
	}
	priv, cert := filepath.Join(tmp, "key.pem"), filepath.Join(tmp, "cert.pem")
	if _, err := output(ctx, "openssl", "req", "-new", "-nodes", "-utf8", "-sha256",
		"-days", fmt.Sprint(signingKeyDays), "-batch", "-x509", "-config", conf,
		"-outform", "PEM", "-keyout", priv, "-out", cert); err != nil {
		return err
	}
	privPEM, err := os.ReadFile(priv)
	if err != nil {
		return err
	}
	certPEM, err := os.ReadFile(cert)
	if err != nil {
		return err
	}
	combined := filepath.Join(tmp, "combined.pem")
	if err := os.WriteFile(combined, append(privPEM, certPEM...), 0o600); err != nil {
		return err
	}
	if err := os.Rename(cert, key.Cert); err != nil {
		return err
	}
	return os.Rename(combined, key.Key)
}
