package gitstore

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func contextWithTimeout(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), d)
}

func newSigner(t *testing.T) (ssh.Signer, ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, priv
}

// sshFiles writes a new client key and a known_hosts file that trusts
// host at addr (a made-up key for 127.0.0.1 when host is nil). It
// returns their paths; the public key is in the key file's ".pub".
func sshFiles(t *testing.T, host *sshHost) (keyFile, knownHostsFile string) {
	t.Helper()
	dir := t.TempDir()
	client, priv := newSigner(t)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile+".pub", ssh.MarshalAuthorizedKey(client.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, hostKey := "127.0.0.1:22", ssh.PublicKey(nil)
	if host != nil {
		addr, hostKey = host.addr, host.key.PublicKey()
	} else {
		s, _ := newSigner(t)
		hostKey = s.PublicKey()
	}
	knownHostsFile = filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKey) + "\n"
	if err := os.WriteFile(knownHostsFile, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	return keyFile, knownHostsFile
}

// sshHost is an ssh server on loopback that runs git-upload-pack and
// git-receive-pack on the repositories below root, for the keys it allows.
type sshHost struct {
	addr    string
	key     ssh.Signer
	root    string
	allowed [][]byte
}

func startSSHHost(t *testing.T, root string) *sshHost {
	t.Helper()
	h := &sshHost{root: root}
	h.key, _ = newSigner(t)
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			for _, k := range h.allowed {
				if bytes.Equal(k, key.Marshal()) {
					return nil, nil
				}
			}
			return nil, errors.New("key not allowed")
		},
	}
	cfg.AddHostKey(h.key)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	h.addr = ln.Addr().String()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go h.serve(conn, cfg)
		}
	}()
	return h
}

// allow lets the public key in keyFile+".pub" log in.
func (h *sshHost) allow(t *testing.T, keyFile string) {
	t.Helper()
	data, err := os.ReadFile(keyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		t.Fatal(err)
	}
	h.allowed = append(h.allowed, k.Marshal())
}

func (h *sshHost) serve(conn net.Conn, cfg *ssh.ServerConfig) {
	defer func() { _ = conn.Close() }() // the connection is done with either way
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		go h.session(ch, reqs)
	}
}

// session runs the one git command a session asks for.
func (h *sshHost) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer func() { _ = ch.Close() }() // the session is done with either way
	for req := range reqs {
		if req.Type != "exec" {
			_ = req.Reply(req.Type == "env", nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			_ = req.Reply(false, nil)
			return
		}
		verb, arg, _ := strings.Cut(payload.Command, " ")
		if verb != "git-upload-pack" && verb != "git-receive-pack" {
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		repo := filepath.Join(h.root, filepath.Clean("/"+strings.Trim(arg, "'")))
		cmd := exec.Command("git", strings.TrimPrefix(verb, "git-"), repo)
		cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
		stdin, err := cmd.StdinPipe()
		status := uint32(1)
		if err == nil && cmd.Start() == nil {
			go func() {
				_, _ = io.Copy(stdin, ch)
				stdin.Close()
			}()
			if cmd.Wait() == nil {
				status = 0
			}
		}
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		return
	}
}

func TestPushAndPullOverSSH(t *testing.T) {
	remote := bareRemote(t, "receive.denyNonFastForwards", "true")
	host := startSSHHost(t, filepath.Dir(remote))
	key, known := sshFiles(t, host)
	host.allow(t, key)
	url := "ssh://git@" + host.addr + "/remote.git"
	ctx := t.Context()

	dir := t.TempDir()
	r := open(t, dir, Options{})
	setRemote(t, r, Remote{URL: url, SSHKeyFile: key, KnownHostsFile: known})
	head := commit(t, r, "c1\n", add("namespaces/a/configmaps/x.yaml", "x\n"))
	if _, _, err := r.Push(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rev(t, remote, "main"); got != head {
		t.Errorf("remote main = %s, want %s", got, head)
	}
	other := cloneRemote(t, remote)
	other.commit(map[string]string{"other.txt": "o\n"}, "other")
	commit(t, r, "c2\n", add("namespaces/a/configmaps/y.yaml", "y\n"))
	if rebased, _, err := r.Push(ctx); err != nil || !rebased {
		t.Fatalf("Push over ssh after another writer = %v, %v", rebased, err)
	}
	clean(t, dir)

	fresh := filepath.Join(t.TempDir(), "fresh")
	p := open(t, fresh, Options{})
	setRemote(t, p, Remote{URL: url, SSHKeyFile: key, KnownHostsFile: known})
	if moved, _, err := p.Pull(ctx); err != nil || !moved {
		t.Fatalf("Pull over ssh = %v, %v", moved, err)
	}
	if got, want := rev(t, fresh, "main"), rev(t, remote, "main"); got != want {
		t.Errorf("pulled %s, remote has %s", got, want)
	}
	clean(t, fresh)
	gitCLI(t, remote, "fsck", "--strict")

	t.Run("a host key not in known_hosts", func(t *testing.T) {
		key, known := sshFiles(t, nil) // trusts another key for 127.0.0.1
		host.allow(t, key)
		r := open(t, t.TempDir(), Options{})
		setRemote(t, r, Remote{URL: url, SSHKeyFile: key, KnownHostsFile: known})
		_, _, err := r.Pull(ctx)
		if err == nil || !strings.Contains(err.Error(), "--ssh-known-hosts") {
			t.Errorf("Pull from a host that is not known = %v", err)
		}
	})
	t.Run("a key the host refuses", func(t *testing.T) {
		key, _ := sshFiles(t, host)
		r := open(t, t.TempDir(), Options{})
		setRemote(t, r, Remote{URL: url, SSHKeyFile: key, KnownHostsFile: known})
		_, _, err := r.Pull(ctx)
		if err == nil || !strings.Contains(err.Error(), "the remote refuses the key in --ssh-key-file") {
			t.Errorf("Pull with a key the host refuses = %v", err)
		}
	})
	t.Run("no known_hosts", func(t *testing.T) {
		err := open(t, t.TempDir(), Options{}).SetRemote(Remote{URL: url, SSHKeyFile: key})
		if err == nil || !strings.Contains(err.Error(), "give --ssh-known-hosts") {
			t.Errorf("SetRemote without known hosts = %v", err)
		}
	})
}
