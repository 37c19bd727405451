package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/kubesnap/kubesnap/internal/audit"
	"github.com/spf13/pflag"
)

// auditFlags are watch's flags of the audit webhook receiver: who made
// each change, from the API server's audit events.
type auditFlags struct {
	listen            string
	certFile, keyFile string
	clientCA, token   string
	wait, window      time.Duration
}

func (a *auditFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&a.listen, "audit-listen", "", `address to receive the API server's audit webhook on, over HTTPS (":8443"); commits are then authored by the user who made each change`)
	fs.StringVar(&a.certFile, "audit-tls-cert-file", "", "the audit webhook's serving certificate (PEM)")
	fs.StringVar(&a.keyFile, "audit-tls-key-file", "", "the audit webhook's serving key (PEM)")
	fs.StringVar(&a.clientCA, "audit-client-ca", "", "accept audit posts only with a client certificate signed by this CA (PEM): the API server's")
	fs.StringVar(&a.token, "audit-token-file", "", "accept audit posts only with the bearer token in this file")
	fs.DurationVar(&a.wait, "audit-wait", 5*time.Second, "how long a change waits for its audit event before it is committed naming its field manager")
	fs.DurationVar(&a.window, "audit-window", audit.DefaultWindow, "how far apart a change and a request may be, for a match by object, verb and time")
}

// complete checks the flags; none of them without --audit-listen.
func (a *auditFlags) complete() error {
	if a.listen == "" {
		if a.certFile != "" || a.keyFile != "" || a.clientCA != "" || a.token != "" {
			return usageError{errors.New("--audit-tls-cert-file, --audit-tls-key-file, --audit-client-ca and --audit-token-file need --audit-listen")}
		}
		return nil
	}
	if a.certFile == "" || a.keyFile == "" {
		return usageError{errors.New("--audit-listen serves HTTPS: give --audit-tls-cert-file and --audit-tls-key-file (the API server's webhook kubeconfig trusts that certificate)")}
	}
	if a.clientCA == "" && a.token == "" {
		return usageError{errors.New("--audit-listen: give --audit-client-ca or --audit-token-file, so that only the API server can post audit events")}
	}
	if a.wait < 0 || a.window <= 0 {
		return usageError{errors.New("--audit-wait cannot be negative and --audit-window must be positive")}
	}
	return nil
}

// start starts the receiver when --audit-listen is set; nil otherwise.
func (a *auditFlags) start(ctx context.Context, m *metrics, log *slog.Logger) (*audit.Receiver, error) {
	if a.listen == "" {
		return nil, nil
	}
	r, err := audit.Listen(ctx, audit.Options{Addr: a.listen, CertFile: a.certFile, KeyFile: a.keyFile, ClientCAFile: a.clientCA, TokenFile: a.token, Window: a.window, Registerer: m.reg, Logger: log})
	if err != nil {
		return nil, err
	}
	log.Info("receiving audit events", "address", r.Addr().String())
	return r, nil
}
