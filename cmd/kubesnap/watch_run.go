package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/kubesnap/kubesnap/internal/gitstore"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"k8s.io/klog/v2"
)

func runWatch(ctx context.Context, o watchOptions, stderr io.Writer) error {
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if o.logFormat == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(h)
	klog.SetSlogLogger(log.With("source", "client-go"))

	if o.watch.Snapshot.Secrets.Mode == snapsync.SecretsPlain {
		log.Warn("--secrets plain: Secret values are stored in git as the cluster has them; anyone who can read the repository can read them")
	}
	repo, cluster, err := connect(ctx, o.repo, gitstore.Options{Branch: o.branch, Prefix: o.prefix, Bare: o.bare, AuthorName: o.authorName, AuthorEmail: o.authorEmail, IndexInBackground: true}, o.cluster)
	if err != nil {
		return err
	}
	if err := o.secretFlags.resolve(ctx, &o.watch.Snapshot.Secrets, cluster); err != nil {
		return err
	}
	if err := o.secretFlags.key(ctx, &o.watch.Snapshot.Secrets, cluster, true, func(msg string) { log.Warn(msg) }); err != nil {
		return err
	}
	if o.remote.URL != "" {
		if err := repo.SetRemote(o.remote); err != nil {
			return err
		}
		o.watch.Remote = repo
	}
	m := newMetrics()
	// "A resync": the API server may be out of reach as long as the
	// watcher goes between looking at its types.
	m.apiThreshold, m.pushThreshold = o.watch.Rediscover, o.pushThreshold
	o.watch.Observer = m
	o.watch.Logger = log
	o.watch.Snapshot.Cluster = cluster.Name()
	o.watch.Snapshot.Rules = rulesOf(ctx)

	if o.listen != "" {
		ln, err := net.Listen("tcp", o.listen)
		if err != nil {
			return fmt.Errorf("--listen %s: %w", o.listen, err)
		}
		srv := &http.Server{Handler: m.handler(), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()  // Serve returns only when closed
		defer func() { _ = srv.Close() }() // closing a listener we own; nothing to report
		log.Info("serving /healthz, /readyz and /metrics", "address", ln.Addr().String())
	}

	// The receiver runs while this process does, leading or not: events
	// are kept a while, so a new leader knows who made recent changes.
	rcv, err := o.audit.start(ctx, m, log)
	if err != nil {
		return err
	}
	if rcv != nil {
		o.watch.Audit = rcv
	}

	run := func(ctx context.Context) error {
		if o.remote.URL != "" {
			if _, _, err := repo.Pull(ctx); err != nil {
				return err
			}
			if err := repo.CheckOwned(ctx); err != nil {
				return err // the remote's branch is not kubesnap's
			}
		}
		err := snapsync.NewWatcher(cluster, repo, o.watch).Run(ctx)
		// The last commit's index may still be being written.
		return errors.Join(err, repo.Flush())
	}
	if !o.leaderElect {
		return run(ctx)
	}
	m.standby.Store(true) // ready while waiting to lead, so rollouts proceed
	log.Info("waiting to lead", "lease", o.election.Namespace+"/"+o.election.Name, "identity", o.election.Identity)
	var runErr error
	lost, err := cluster.LeaderElect(ctx, o.election, func(ctx context.Context) {
		m.standby.Store(false)
		log.Info("leading", "identity", o.election.Identity)
		runErr = run(ctx)
	}, func(leader string) { log.Info("following", "leader", leader) })
	if err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	if lost {
		// The pod restarts and competes again with a fresh clone.
		return errors.New("lost the leader Lease; exiting so a fresh process competes again")
	}
	return nil
}
