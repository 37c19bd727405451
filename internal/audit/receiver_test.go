package audit

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// logBuffer is a bytes.Buffer the server's goroutines can write to.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is a receiver listening on 127.0.0.1 for one test, its
// metrics and its log (at debug level, everything it writes).
type harness struct {
	r    *Receiver
	pki  *pki
	reg  *prometheus.Registry
	logs *logBuffer
	url  string
}

func start(t *testing.T, mod func(*Options)) *harness {
	t.Helper()
	p, err := newPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{pki: p, reg: prometheus.NewRegistry(), logs: &logBuffer{}}
	o := Options{
		Addr: "127.0.0.1:0", CertFile: p.certFile, KeyFile: p.keyFile,
		ClientCAFile: p.clientCAFile, TokenFile: p.tokenFile,
		Registerer: h.reg,
		Logger:     slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.r, err = Listen(ctx, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := h.r.Wait(); err != nil {
			t.Errorf("receiver stopped: %v", err)
		}
	})
	h.url = "https://" + h.r.Addr().String() + Path
	return h
}

// client trusts the serving CA and shows cert, when given.
func (h *harness) client(cert *tls.Certificate) *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(h.pki.serverCA.cert)
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}

// post sends body as the API server would (token auth unless the header
// is changed by mod) and returns the status and the answer's body.
func (h *harness) post(t *testing.T, c *http.Client, body []byte, mod func(*http.Request)) (int, string) {
	t.Helper()
	if c == nil {
		c = h.client(nil)
	}
	req, err := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.pki.token)
	if mod != nil {
		mod(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("post to %s: %v", h.url, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(answer)
}

// send posts events as a batch with the token and fails t unless they
// are accepted.
func (h *harness) send(t *testing.T, events ...ev) {
	t.Helper()
	if status, answer := h.post(t, nil, batch(events...), nil); status != http.StatusOK {
		t.Fatalf("batch refused: %d %s", status, answer)
	}
}

func (h *harness) held() int {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	return h.r.idx.len()
}

// t0 is when the test's requests happen, on the API server's clock.
var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// ev is one audit event to send; zero fields take a default: a
// successful create of configmap default/app by alice at t0, complete;
// "-" asks for an empty string.
type ev struct {
	verb, user, impersonated, group, resource, ns, name, sub string
	rv, requestRV, uri, stage, agent                         string
	sourceIPs                                                []string
	code                                                     int
	received, completed                                      time.Time
	// request and response are the bodies, at level RequestResponse.
	request, response map[string]any
}

func (e ev) wire() map[string]any {
	// "-" asks for an empty field.
	def := func(s *string, d string) {
		switch *s {
		case "":
			*s = d
		case "-":
			*s = ""
		}
	}
	def(&e.verb, "create")
	def(&e.user, "alice")
	def(&e.resource, "configmaps")
	def(&e.ns, "default")
	def(&e.stage, "ResponseComplete")
	def(&e.uri, "/api/v1/namespaces/"+e.ns+"/"+e.resource)
	def(&e.agent, "kubectl/v1.37.2")
	if e.verb != "deletecollection" && e.name == "" && e.response == nil {
		e.name = "app"
	}
	if e.code == 0 {
		e.code = 200
	}
	if e.completed.IsZero() {
		e.completed = t0
	}
	if e.received.IsZero() {
		e.received = e.completed.Add(-5 * time.Millisecond)
	}
	if e.sourceIPs == nil {
		e.sourceIPs = []string{"10.0.0.7", "10.0.0.1"}
	}
	ref := map[string]any{"resource": e.resource, "namespace": e.ns, "apiGroup": e.group, "apiVersion": "v1"}
	if e.name != "" {
		ref["name"] = e.name
	}
	if e.sub != "" {
		ref["subresource"] = e.sub
	}
	if e.requestRV != "" {
		ref["resourceVersion"] = e.requestRV
	}
	w := map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
		"auditID": "0c4f6a3e-0000-4000-8000-000000000001", "stage": e.stage,
		"requestURI": e.uri, "verb": e.verb,
		"user":      map[string]any{"username": e.user, "uid": "u-1", "groups": []string{"system:authenticated"}},
		"sourceIPs": e.sourceIPs, "userAgent": e.agent, "objectRef": ref,
		"responseStatus":           map[string]any{"metadata": map[string]any{}, "code": e.code},
		"requestReceivedTimestamp": e.received.Format("2006-01-02T15:04:05.000000Z07:00"),
		"stageTimestamp":           e.completed.Format("2006-01-02T15:04:05.000000Z07:00"),
	}
	if e.impersonated != "" {
		w["impersonatedUser"] = map[string]any{"username": e.impersonated, "groups": []string{"system:authenticated"}}
	}
	resp := e.response
	if resp == nil && e.rv != "" {
		resp = map[string]any{"kind": "ConfigMap", "apiVersion": "v1", "metadata": map[string]any{"name": e.name, "namespace": e.ns}}
	}
	if resp != nil {
		if e.rv != "" {
			resp["metadata"].(map[string]any)["resourceVersion"] = e.rv
		}
		w["responseObject"], w["level"] = resp, "RequestResponse"
	}
	if e.request != nil {
		w["requestObject"] = e.request
	}
	return w
}

func batch(events ...ev) []byte {
	items := make([]map[string]any, len(events))
	for i, e := range events {
		items[i] = e.wire()
	}
	data, err := json.Marshal(map[string]any{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": map[string]any{}, "items": items})
	if err != nil {
		panic(err)
	}
	return data
}

var appID = canonical.ID{Resource: "configmaps", Namespace: "default", Name: "app"}

func TestAcceptsABatchWithAClientCertificate(t *testing.T) {
	h := start(t, func(o *Options) { o.TokenFile = "" })
	status, answer := h.post(t, h.client(&h.pki.client), batch(ev{rv: "42"}), func(r *http.Request) { r.Header.Del("Authorization") })
	if status != http.StatusOK {
		t.Fatalf("batch with a client certificate: %d %s", status, answer)
	}
	a, ok := h.r.Who(snapsync.AuditQuery{ID: appID, Op: snapsync.Added, ResourceVersion: "42", Seen: t0})
	want := snapsync.Actor{User: "alice", UserAgent: "kubectl/v1.37.2", SourceIP: "10.0.0.7"}
	if !ok || a != want {
		t.Fatalf("Who = %+v, %v; want %+v", a, ok, want)
	}
	if got := testutil.ToFloat64(h.r.metrics.events); got != 1 {
		t.Errorf("kubesnap_audit_events_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(h.r.metrics.held); got != 1 {
		t.Errorf("kubesnap_audit_events_held = %v, want 1", got)
	}
}

func TestAcceptsABatchWithTheToken(t *testing.T) {
	h := start(t, func(o *Options) { o.ClientCAFile = "" })
	h.send(t, ev{rv: "42"})
	if _, ok := h.r.Who(snapsync.AuditQuery{ID: appID, Op: snapsync.Added, ResourceVersion: "42", Seen: t0}); !ok {
		t.Fatal("the event sent with the token is not found")
	}
	select {
	case <-h.r.Arrived():
	default:
		t.Error("Arrived did not receive after an accepted batch")
	}
}

// secretValue is a Secret's value in the batches of the tests: it must
// appear nowhere the receiver writes or keeps.
const secretValue = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1uZXZlci1sZWFr"

func TestRefusedRequestsAreCountedAndNothingIsKept(t *testing.T) {
	good := batch(ev{rv: "42", request: map[string]any{"data": map[string]any{"password": secretValue}}})
	big := batch(ev{rv: "42", request: map[string]any{"data": map[string]any{"password": strings.Repeat(secretValue, 100)}}})
	withCA := func(o *Options) {}
	cases := []struct {
		name   string
		opts   func(*Options)
		cert   func(*pki) *tls.Certificate
		body   []byte
		mod    func(*http.Request)
		status int
		reason string
	}{
		{"no credentials", withCA, nil, good, func(r *http.Request) { r.Header.Del("Authorization") }, 401, reasonNoCredentials},
		{"no credentials, token only", func(o *Options) { o.ClientCAFile = "" }, func(p *pki) *tls.Certificate { return &p.client }, good, func(r *http.Request) { r.Header.Del("Authorization") }, 401, reasonNoCredentials},
		{"wrong token", withCA, nil, good, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secretValue) }, 401, reasonBadToken},
		{"token not bearer", withCA, nil, good, func(r *http.Request) { r.Header.Set("Authorization", "Basic "+secretValue) }, 401, reasonBadToken},
		{"token without a token file", func(o *Options) { o.TokenFile = "" }, nil, good, nil, 401, reasonNoCredentials},
		{"certificate from another CA", withCA, func(p *pki) *tls.Certificate { return &p.stranger }, good, func(r *http.Request) { r.Header.Del("Authorization") }, 403, reasonBadCertificate},
		{"certificate from another CA beside a good token", withCA, func(p *pki) *tls.Certificate { return &p.stranger }, good, nil, 403, reasonBadCertificate},
		{"GET", withCA, nil, nil, func(r *http.Request) { r.Method = http.MethodGet; r.Body, r.ContentLength = nil, 0 }, 405, reasonBadRequest},
		{"another path", withCA, nil, good, func(r *http.Request) { r.URL.Path = "/other" }, 404, reasonBadRequest},
		{"not JSON", withCA, nil, good, func(r *http.Request) { r.Header.Set("Content-Type", "application/yaml") }, 415, reasonBadRequest},
		{"too large", func(o *Options) { o.MaxBody = 2048 }, nil, big, nil, 413, reasonTooLarge},
		{"malformed JSON", withCA, nil, []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"requestObject":{"data":{"password":"` + secretValue + `"}}` + secretValue), nil, 400, reasonBadRequest},
		{"a value of the wrong type", withCA, nil, []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"verb":1234567}]}`), nil, 400, reasonBadRequest},
		{"a bad timestamp", withCA, nil, []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"stageTimestamp":"` + secretValue + `"}]}`), nil, 400, reasonBadRequest},
		{"not an EventList", withCA, nil, []byte(`{"kind":"Secret","apiVersion":"v1","data":{"password":"` + secretValue + `"}}`), nil, 400, reasonBadRequest},
		{"empty body", withCA, nil, []byte{}, nil, 400, reasonBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.opts)
			var cert *tls.Certificate
			if tc.cert != nil {
				cert = tc.cert(h.pki)
			}
			status, answer := h.post(t, h.client(cert), tc.body, tc.mod)
			if status != tc.status {
				t.Errorf("status %d (%s), want %d", status, answer, tc.status)
			}
			if n := h.held(); n != 0 {
				t.Errorf("%d events held after a refused request", n)
			}
			if got := testutil.ToFloat64(h.r.metrics.refused.WithLabelValues(tc.reason)); got != 1 {
				t.Errorf("kubesnap_audit_refused_total{reason=%q} = %v, want 1", tc.reason, got)
			}
			if got := testutil.ToFloat64(h.r.metrics.events); got != 0 {
				t.Errorf("kubesnap_audit_events_total = %v after a refusal", got)
			}
			for where, s := range map[string]string{"answer": answer, "log": h.logs.String()} {
				if strings.Contains(s, secretValue) || strings.Contains(s, "1234567") {
					t.Errorf("the %s quotes the body:\n%s", where, s)
				}
			}
			if !strings.Contains(h.logs.String(), "reason="+tc.reason) {
				t.Errorf("the log does not give the reason:\n%s", h.logs.String())
			}
		})
	}
}

func TestPlainHTTPIsRefused(t *testing.T) {
	h := start(t, nil)
	resp, err := http.Post("http://"+h.r.Addr().String()+Path, "application/json", bytes.NewReader(batch(ev{rv: "42"})))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("a batch over plain HTTP was accepted")
		}
	}
	if n := h.held(); n != 0 {
		t.Errorf("%d events held from plain HTTP", n)
	}
}

func TestListenRefusesIncompleteOptions(t *testing.T) {
	p, err := newPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	empty, spaced, notPEM := write("empty", " \n"), write("spaced", "two words\n"), write("notpem", "not a certificate")
	base := Options{Addr: "127.0.0.1:0", CertFile: p.certFile, KeyFile: p.keyFile, TokenFile: p.tokenFile}
	cases := []struct {
		name, want string
		mod        func(*Options)
	}{
		{"no serving certificate", "certificate and key", func(o *Options) { o.CertFile = "" }},
		{"serving certificate missing", "missing.crt", func(o *Options) { o.CertFile = filepath.Join(dir, "missing.crt") }},
		{"no credentials", "client CA file", func(o *Options) { o.TokenFile = "" }},
		{"client CA missing", "client-ca-missing", func(o *Options) { o.ClientCAFile = filepath.Join(dir, "client-ca-missing") }},
		{"client CA not PEM", notPEM, func(o *Options) { o.ClientCAFile = notPEM }},
		{"token file missing", "token-missing", func(o *Options) { o.TokenFile = filepath.Join(dir, "token-missing") }},
		{"token file empty", empty, func(o *Options) { o.TokenFile = empty }},
		{"token file with two words", spaced, func(o *Options) { o.TokenFile = spaced }},
		{"address taken", "listen on", func(o *Options) { o.Addr = "256.0.0.1:1" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.mod(&o)
			r, err := Listen(t.Context(), o)
			if err == nil {
				t.Fatalf("Listen succeeded on %v", r.Addr())
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "two words") {
				t.Errorf("error %q quotes the token", err)
			}
		})
	}
	t.Run("metrics registered twice", func(t *testing.T) {
		o := base
		o.Registerer = prometheus.NewRegistry()
		if _, err := Listen(t.Context(), o); err != nil {
			t.Fatal(err)
		}
		if _, err := Listen(t.Context(), o); err == nil || !strings.Contains(err.Error(), "already registered") {
			t.Errorf("second receiver on one registry: %v", err)
		}
	})
}

func TestStopsWhenTheContextEnds(t *testing.T) {
	p, err := newPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Listen(ctx, Options{Addr: "127.0.0.1:0", CertFile: p.certFile, KeyFile: p.keyFile, TokenFile: p.tokenFile, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := r.Wait(); err != nil {
		t.Fatalf("Wait after the context ended: %v", err)
	}
	if c, err := net.Dial("tcp", r.Addr().String()); err == nil {
		_ = c.Close()
		t.Error("still listening after the context ended")
	}
}
