package audit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// testCA is a certificate authority made for one test run.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(name string) (*testCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// issue makes a leaf certificate for usage, valid for 127.0.0.1.
func (ca *testCA) issue(cn string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

// pki is everything a receiver and its clients need, in dir: a serving
// certificate (CertFile, KeyFile, signed by serverCA), the CA the API
// server's client certificate comes from (ClientCAFile), a client
// certificate it signed, one another CA signed, and a token file.
type pki struct {
	certFile, keyFile, clientCAFile, tokenFile  string
	clientCertFile, clientKeyFile, serverCAFile string
	serverCA                                    *testCA
	client, stranger                            tls.Certificate
	token                                       string
}

func newPKI(dir string) (*pki, error) {
	p := &pki{token: "kubesnap-audit-test-token"}
	var err error
	if p.serverCA, err = newCA("audit serving CA"); err != nil {
		return nil, err
	}
	clientCA, err := newCA("audit client CA")
	if err != nil {
		return nil, err
	}
	otherCA, err := newCA("another CA")
	if err != nil {
		return nil, err
	}
	scert, skey, err := p.serverCA.issue("kubesnap audit", x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	ccert, ckey, err := clientCA.issue("kube-apiserver", x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	if p.client, err = tls.X509KeyPair(ccert, ckey); err != nil {
		return nil, err
	}
	ocert, okey, err := otherCA.issue("kube-apiserver", x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	if p.stranger, err = tls.X509KeyPair(ocert, okey); err != nil {
		return nil, err
	}
	files := []struct {
		path *string
		name string
		data []byte
	}{
		{&p.certFile, "serving.crt", scert}, {&p.keyFile, "serving.key", skey},
		{&p.clientCAFile, "client-ca.crt", clientCA.pem}, {&p.tokenFile, "token", []byte("  " + p.token + "\n")},
		{&p.clientCertFile, "client.crt", ccert}, {&p.clientKeyFile, "client.key", ckey},
		{&p.serverCAFile, "serving-ca.crt", p.serverCA.pem},
	}
	for _, f := range files {
		*f.path = filepath.Join(dir, f.name)
		if err := os.WriteFile(*f.path, f.data, 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}
