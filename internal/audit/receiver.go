package audit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	snapsync "github.com/kubesnap/kubesnap/sync"
)

// Path is where the receiver takes events: the webhook kubeconfig's
// server is https://<address>/audit.
const Path = "/audit"

// Defaults of Options.
const (
	DefaultWindow    = 5 * time.Second
	DefaultRetain    = 10 * time.Minute
	DefaultMaxEvents = 50_000
	DefaultMaxBody   = 64 << 20
)

// Options configure Listen.
type Options struct {
	// Addr is the address to listen on: ":8443", "127.0.0.1:0".
	Addr string
	// CertFile and KeyFile are the HTTPS serving certificate and key
	// (PEM); required.
	CertFile, KeyFile string
	// ClientCAFile, when set, holds the CA that signs the API server's
	// client certificate (PEM).
	ClientCAFile string
	// TokenFile, when set, holds the bearer token the API server sends
	// (read once; surrounding space trimmed). At least one of
	// ClientCAFile and TokenFile is required.
	TokenFile string
	// Window is how far before a change the request that made it may
	// have completed, for a match by verb and time; DefaultWindow when 0.
	Window time.Duration
	// Skew is how far after the watcher saw a change the request may
	// have been received (the API server's clock may run ahead of the
	// watcher's); a second, or Window when shorter, when 0.
	Skew time.Duration
	// Retain is how long an event is held; DefaultRetain when 0.
	Retain time.Duration
	// MaxEvents bounds the events held, oldest dropped first;
	// DefaultMaxEvents when 0.
	MaxEvents int
	// MaxBody bounds a request's body in bytes; DefaultMaxBody when 0.
	// A larger batch is refused (413) and nothing of it kept.
	MaxBody int64
	// Registerer, when set, gets the receiver's metrics.
	Registerer prometheus.Registerer
	// Logger gets refusals and failures; slog.Default() when nil.
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Skew <= 0 {
		o.Skew = min(time.Second, o.Window)
	}
	if o.Retain <= 0 {
		o.Retain = DefaultRetain
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Receiver takes the API server's audit events over HTTPS and tells who
// made a change (sync.Audit). It holds only each event's identity,
// object reference, verb and times, never a body.
type Receiver struct {
	opts    Options
	creds   credentials
	log     *slog.Logger
	metrics *metrics
	addr    net.Addr
	now     func() time.Time

	mu  sync.Mutex
	idx *index

	arrived chan struct{}
	done    chan struct{}
	err     error // why serving stopped, nil when ctx ended it; set before done closes
}

var _ snapsync.Audit = (*Receiver)(nil)

// Listen starts serving on o.Addr and returns once it listens; the
// server stops when ctx ends (Wait waits for it).
func Listen(ctx context.Context, o Options) (*Receiver, error) {
	o.defaults()
	if o.CertFile == "" || o.KeyFile == "" {
		return nil, errors.New("the audit webhook is served over HTTPS: give its certificate and key files")
	}
	cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("audit serving certificate %s and key %s: %w", o.CertFile, o.KeyFile, err)
	}
	creds, err := loadCredentials(o)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("audit webhook: listen on %s: %w", o.Addr, err)
	}
	r := &Receiver{
		opts: o, creds: creds, log: o.Logger, metrics: m, addr: ln.Addr(), now: time.Now,
		idx:     newIndex(o.Retain, o.MaxEvents),
		arrived: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	srv := &http.Server{
		Handler:           r,
		TLSConfig:         creds.tlsConfig(cert),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		// Handshake failures and plain-HTTP clients are the network's
		// noise; they say nothing of a batch.
		ErrorLog: slog.NewLogLogger(o.Logger.Handler(), slog.LevelDebug),
	}
	go r.serve(ctx, srv, ln)
	return r, nil
}

func (r *Receiver) serve(ctx context.Context, srv *http.Server, ln net.Listener) {
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		case <-stopped:
		}
	}()
	err := srv.ServeTLS(ln, "", "")
	close(stopped)
	if !errors.Is(err, http.ErrServerClosed) {
		r.err = fmt.Errorf("audit webhook on %s: %w", r.addr, err)
	}
	close(r.done)
}

// Addr is the address the receiver listens on, with the port chosen
// when Options.Addr asked for port 0.
func (r *Receiver) Addr() net.Addr { return r.addr }

// Wait waits until the server stopped and returns why, nil when ctx
// ended it.
func (r *Receiver) Wait() error {
	<-r.done
	return r.err
}

// Arrived implements sync.Audit: it receives a value after each batch
// that held an event kept.
func (r *Receiver) Arrived() <-chan struct{} { return r.arrived }

// Who implements sync.Audit. Events are not consumed by a match (several
// changes of one batch may come from one request, a deletecollection);
// they go by age and number only.
func (r *Receiver) Who(q snapsync.AuditQuery) (snapsync.Actor, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.idx.exact(q); e != nil {
		r.metrics.matches.WithLabelValues("exact").Inc()
		return e.actor, true
	}
	if e := r.idx.approximate(q, r.opts.Window, r.opts.Skew); e != nil {
		r.metrics.matches.WithLabelValues("approximate").Inc()
		a := e.actor
		a.Approximate = true
		return a, true
	}
	r.metrics.matches.WithLabelValues("none").Inc()
	return snapsync.Actor{}, false
}

// keep stores a batch's entries and tells whoever waits.
func (r *Receiver) keep(es []*entry) {
	if len(es) == 0 {
		return
	}
	r.mu.Lock()
	r.idx.add(r.now(), es)
	r.metrics.held.Set(float64(r.idx.len()))
	r.mu.Unlock()
	r.metrics.events.Add(float64(len(es)))
	select {
	case r.arrived <- struct{}{}:
	default:
	}
}
