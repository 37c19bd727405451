package testenv

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func (e *Env) writeKubeconfig(host, certDir string) error {
	ca, err := os.ReadFile(filepath.Join(certDir, "apiserver.crt"))
	if err != nil {
		return err
	}
	e.Kubeconfig = filepath.Join(e.Dir, "kubeconfig")
	e.LimitedKubeconfig = filepath.Join(e.Dir, "kubeconfig-limited")
	const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: testenv
  context: {cluster: testenv, user: admin}
current-context: testenv
`
	ca64 := base64.StdEncoding.EncodeToString(ca)
	if err := os.WriteFile(e.Kubeconfig, fmt.Appendf(nil, kubeconfig, host, ca64, adminToken), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(e.LimitedKubeconfig, fmt.Appendf(nil, kubeconfig, host, ca64, limitedToken), 0o600); err != nil {
		return err
	}
	e.userKubeconfigs = map[string]string{}
	for _, u := range e.opts.Users {
		path := filepath.Join(e.Dir, "kubeconfig-user-"+u)
		if err := os.WriteFile(path, fmt.Appendf(nil, kubeconfig, host, ca64, userToken(u)), 0o600); err != nil {
			return err
		}
		e.userKubeconfigs[u] = path
	}
	rc, err := clientcmd.BuildConfigFromFlags("", e.Kubeconfig)
	if err != nil {
		return err
	}
	rc.QPS, rc.Burst = 500, 1000
	e.Config = rc
	return nil
}

// UserKubeconfig returns the path of a kubeconfig that logs in as user,
// one of Options.Users; another name fails t.
func (e *Env) UserKubeconfig(t testing.TB, user string) string {
	t.Helper()
	path, ok := e.UserKubeconfigFile(user)
	if !ok {
		t.Fatalf("testenv: %q is not one of Options.Users %q", user, e.opts.Users)
	}
	return path
}

// UserClient returns a typed client that logs in as user, one of
// Options.Users.
func (e *Env) UserClient(t testing.TB, user string) kubernetes.Interface {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", e.UserKubeconfig(t, user))
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// UserKubeconfigFile returns the path of user's kubeconfig, and whether
// user is one of Options.Users.
func (e *Env) UserKubeconfigFile(user string) (string, bool) {
	path, ok := e.userKubeconfigs[user]
	return path, ok
}

func userToken(user string) string { return "kubesnap-user-" + user + "-token" }

// writeTokens writes the API server's token file: admin (system:masters),
// LimitedUser and users, each with a token of its own.
func writeTokens(dir string, users []string) error {
	var b strings.Builder
	b.WriteString(adminToken + ",admin,admin-uid,system:masters\n")
	b.WriteString(limitedToken + "," + LimitedUser + ",limited-uid\n")
	seen := map[string]bool{"admin": true, LimitedUser: true}
	for _, u := range users {
		if u == "" || seen[u] || strings.ContainsAny(u, ",\"\r\n/") {
			return fmt.Errorf("testenv: user %q: give distinct names other than admin and %s, without commas, quotes, slashes or line breaks", u, LimitedUser)
		}
		seen[u] = true
		fmt.Fprintf(&b, "%s,%s,%s-uid\n", userToken(u), u, u)
	}
	return os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(b.String()), 0o600)
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// writeKeys writes the service account signing key pair.
func writeKeys(dir string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}
