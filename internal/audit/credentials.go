package audit

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// credentials is what a request must show: a client certificate signed
// by clientCAs, or the bearer token (kept as its SHA-256, so that the
// comparison takes the same time whatever the length sent).
type credentials struct {
	clientCAs *x509.CertPool
	token     *[sha256.Size]byte
}

func loadCredentials(o Options) (credentials, error) {
	var c credentials
	if o.ClientCAFile == "" && o.TokenFile == "" {
		return c, errors.New("the audit webhook needs a way to tell the API server from anyone else: give a client CA file (the API server's client certificate) or a token file, or both")
	}
	if o.ClientCAFile != "" {
		pem, err := os.ReadFile(o.ClientCAFile)
		if err != nil {
			return c, fmt.Errorf("audit client CA: %w", err)
		}
		c.clientCAs = x509.NewCertPool()
		if !c.clientCAs.AppendCertsFromPEM(pem) {
			return c, fmt.Errorf("audit client CA %s holds no PEM certificate", o.ClientCAFile)
		}
	}
	if o.TokenFile != "" {
		data, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return c, fmt.Errorf("audit token: %w", err)
		}
		tok := strings.TrimSpace(string(data))
		if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
			return c, fmt.Errorf("audit token file %s must hold one token on one line", o.TokenFile)
		}
		sum := sha256.Sum256([]byte(tok))
		c.token = &sum
	}
	return c, nil
}

// tlsConfig serves cert and, with a client CA, asks for a client
// certificate without verifying it in the handshake: check verifies it,
// so that a bad certificate is answered 403 and counted rather than
// ending in a handshake error nobody sees, and a client without a
// certificate can still show the token.
func (c credentials) tlsConfig(cert tls.Certificate) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if c.clientCAs != nil {
		cfg.ClientAuth = tls.RequestClientCert
	}
	return cfg
}

// check says why r is refused, or "" when it may post events. A request
// that shows a client certificate is judged by it alone: the API server
// sends what its webhook kubeconfig holds, and a certificate that does
// not verify is refused even beside a good token.
func (c credentials) check(r *http.Request) (reason string, status int) {
	if c.clientCAs != nil && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		if c.verify(r.TLS.PeerCertificates) {
			return "", 0
		}
		return reasonBadCertificate, http.StatusForbidden
	}
	auth := r.Header.Get("Authorization")
	if c.token == nil || auth == "" {
		return reasonNoCredentials, http.StatusUnauthorized
	}
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	sum := sha256.Sum256([]byte(tok))
	if !ok || subtle.ConstantTimeCompare(sum[:], c.token[:]) != 1 {
		return reasonBadToken, http.StatusUnauthorized
	}
	return "", 0
}

// verify checks a client's chain as crypto/tls would with
// RequireAndVerifyClientCert: against clientCAs, for client
// authentication. The handshake already proved the client holds the
// leaf's key.
func (c credentials) verify(chain []*x509.Certificate) bool {
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         c.clientCAs,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	return err == nil
}
