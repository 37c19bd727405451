package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// AuditWebhook is what an audit webhook on 127.0.0.1 and the API server
// that posts to it need: one CA signs the webhook's serving certificate
// and the API server's client certificate.
type AuditWebhook struct {
	// Addr is the webhook's address (host:port on 127.0.0.1).
	Addr string
	// CertFile and KeyFile are the webhook's serving certificate and key;
	// ClientCAFile the CA the API server's client certificate verifies
	// against (PEM files).
	CertFile, KeyFile, ClientCAFile string
	// Kubeconfig is the API server's --audit-webhook-config-file: it
	// posts to https://Addr/audit, trusts the CA, and presents the client
	// certificate.
	Kubeconfig []byte

	ca *x509.Certificate
}

// ServingCAPool trusts the webhook's serving certificate.
func (w *AuditWebhook) ServingCAPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(w.ca)
	return p
}

// NewAuditWebhook writes the certificates of a webhook at addr into dir.
func NewAuditWebhook(dir, addr string) (*AuditWebhook, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("audit webhook address %s: %w", addr, err)
	}
	ca, caKey, caPEM, _, err := newCert(pkix.Name{CommonName: "kubesnap-test-audit-ca"}, nil, nil, func(c *x509.Certificate) {
		c.IsCA, c.BasicConstraintsValid = true, true
		c.KeyUsage = x509.KeyUsageCertSign
	})
	if err != nil {
		return nil, err
	}
	_, _, servePEM, serveKey, err := newCert(pkix.Name{CommonName: host}, ca, caKey, func(c *x509.Certificate) {
		c.IPAddresses = []net.IP{net.ParseIP(host)}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	if err != nil {
		return nil, err
	}
	_, _, clientPEM, clientKey, err := newCert(pkix.Name{CommonName: "kube-apiserver"}, ca, caKey, func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
	if err != nil {
		return nil, err
	}
	w := &AuditWebhook{Addr: addr, CertFile: filepath.Join(dir, "audit-serving.crt"), KeyFile: filepath.Join(dir, "audit-serving.key"), ClientCAFile: filepath.Join(dir, "audit-client-ca.crt"), ca: ca}
	for name, data := range map[string][]byte{w.CertFile: servePEM, w.KeyFile: serveKey, w.ClientCAFile: caPEM} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			return nil, err
		}
	}
	b64 := base64.StdEncoding.EncodeToString
	w.Kubeconfig = fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: kubesnap
  cluster:
    server: https://%s/audit
    certificate-authority-data: %s
users:
- name: kube-apiserver
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: default
  context: {cluster: kubesnap, user: kube-apiserver}
current-context: default
`, addr, b64(caPEM), b64(clientPEM), b64(clientKey))
	return w, nil
}

// newCert makes a certificate for subject, signed by parent (itself when
// nil), shaped by edit; it returns the certificate and its key, both also
// as PEM.
func newCert(subject pkix.Name, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, edit func(*x509.Certificate)) (*x509.Certificate, *ecdsa.PrivateKey, []byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: subject, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	edit(tmpl)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
