package main

import (
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"time"

	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/kubesnap/kubesnap/internal/kube"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

type watchOptions struct {
	repo, branch, prefix string
	bare                 bool
	authorName           string
	authorEmail          string
	remote               gitstore.Remote
	watch                snapsync.WatchOptions
	listen               string
	pushThreshold        time.Duration
	leaderElect          bool
	election             kube.Election
	logFormat            string
	secretFlags          secretFlags
	audit                auditFlags
	cluster              *genericclioptions.ConfigFlags
}

// watchFlags are the flags as typed, before validation.
type watchFlags struct {
	schedule, author       string
	electionID, electionNS string
	remote                 remoteFlags
}

func newWatch(stderr io.Writer) *cobra.Command {
	o := watchOptions{watch: snapsync.DefaultWatchOptions()}
	var wf watchFlags
	var ff filterFlags
	cmd := &cobra.Command{
		Use:   "watch --repo DIR",
		Short: "Capture the cluster, then commit every change as it happens (and push)",
		Long: `watch captures the cluster once, as snapshot does, then follows every
captured type with informers and commits changes in batches: when no change
arrived for --debounce, or --max-delay after the first pending one. With
--remote it pushes after each commit, rebasing onto commits others pushed
(never forcing). With --schedule it also takes a full snapshot at those
times and tags it snapshot/<UTC time>. SIGTERM commits what is pending,
pushes, and exits 0.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.complete(&wf, &ff); err != nil {
				return err
			}
			return runWatch(cmd.Context(), o, stderr)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.repo, "repo", "", "git repository folder (created if missing or empty; a clone of --remote)")
	fs.StringVar(&o.branch, "branch", "", "branch to commit to (default: the checked-out branch)")
	fs.StringVar(&o.prefix, "path", "", "folder in the repository to write under, so one repository can hold many clusters")
	fs.BoolVar(&o.bare, "bare", false, "when the repository is created, make it bare")
	fs.StringVar(&wf.author, "author", "", `commit author, "Name <email>" (default kubesnap <kubesnap@localhost>)`)
	wf.remote.add(fs)
	fs.DurationVar(&o.watch.Debounce, "debounce", o.watch.Debounce, "commit when no change arrived for this long")
	fs.DurationVar(&o.watch.MaxDelay, "max-delay", o.watch.MaxDelay, "commit at the latest this long after the first pending change")
	fs.StringVar(&wf.schedule, "schedule", "", `cron schedule of full snapshots, tagged snapshot/<UTC time> ("0 3 * * *", "@daily", "@every 1h")`)
	fs.IntVar(&o.watch.KeepSnapshots, "keep-snapshots", 0, "keep only the newest N snapshot tags (0: all)")
	fs.DurationVar(&o.watch.SnapshotRetention, "snapshot-retention", 0, "delete snapshot tags older than this (0: never)")
	fs.DurationVar(&o.watch.Rediscover, "rediscover", o.watch.Rediscover, "how often to look for new and removed types")
	// Only this machine by default: the metrics name the cluster's types
	// and the remote. deploy/ listens on every address of the pod.
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", `address of /healthz, /readyz and /metrics (":8080" for every address, "" for none)`)
	fs.DurationVar(&o.pushThreshold, "push-failure-threshold", 10*time.Minute, "report not ready on /readyz once pushes have failed for this long (0: never)")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "commit only while holding the leader Lease, so replicas give high availability")
	fs.StringVar(&wf.electionNS, "leader-elect-namespace", "", "namespace of the leader Lease (default $POD_NAMESPACE, else kubesnap-system)")
	fs.StringVar(&wf.electionID, "leader-elect-id", "", "this replica's identity (default the host name)")
	fs.DurationVar(&o.election.LeaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a leader's Lease lasts without renewal")
	textOrJSON().flag(cmd, &o.logFormat, "log-format", "", "log format")
	ff.add(fs)
	o.audit.add(fs)
	o.secretFlags.add(fs, true)
	o.cluster = clusterFlags(fs)
	return cmd
}

// complete turns the flags into validated options.
func (o *watchOptions) complete(wf *watchFlags, ff *filterFlags) error {
	if o.repo == "" {
		return usageError{errors.New("--repo is required")}
	}
	if err := textOrJSON().check(o.logFormat); err != nil {
		return usageError{fmt.Errorf("--log-format: %w", err)}
	}
	var err error
	if o.watch.Snapshot.Filter, err = ff.filter(); err != nil {
		return err
	}
	if o.watch.Debounce < 0 || o.watch.MaxDelay < 0 {
		return usageError{errors.New("--debounce and --max-delay cannot be negative")}
	}
	if wf.schedule != "" {
		if o.watch.Schedule, err = snapsync.ParseSchedule(wf.schedule); err != nil {
			return usageError{fmt.Errorf("--schedule: %w", err)}
		}
	}
	if o.pushThreshold < 0 {
		return usageError{errors.New("--push-failure-threshold cannot be negative")}
	}
	if o.watch.KeepSnapshots < 0 || o.watch.SnapshotRetention < 0 {
		return usageError{errors.New("--keep-snapshots and --snapshot-retention cannot be negative")}
	}
	if (o.watch.KeepSnapshots > 0 || o.watch.SnapshotRetention > 0) && wf.schedule == "" {
		return usageError{errors.New("--keep-snapshots and --snapshot-retention need --schedule")}
	}
	if wf.author != "" {
		a, err := mail.ParseAddress(wf.author)
		if err != nil {
			return usageError{fmt.Errorf(`--author %q: want "Name <email>"`, wf.author)}
		}
		o.authorName, o.authorEmail = a.Name, a.Address
	}
	if o.remote, err = wf.remote.complete(); err != nil {
		return err
	}
	if err := o.audit.complete(); err != nil {
		return err
	}
	o.watch.AuditWait = o.audit.wait
	if o.watch.Snapshot.Secrets, err = o.secretFlags.complete(); err != nil {
		return err
	}
	if o.leaderElect {
		ns := wf.electionNS
		if ns == "" {
			ns = os.Getenv("POD_NAMESPACE")
		}
		if ns == "" {
			ns = "kubesnap-system"
		}
		id := wf.electionID
		if id == "" {
			if id, err = os.Hostname(); err != nil {
				return fmt.Errorf("leader election identity: %w (give --leader-elect-id)", err)
			}
		}
		d := o.election.LeaseDuration
		o.election = kube.DefaultElection(ns, id)
		if d > 0 {
			o.election.LeaseDuration = d
			o.election.RenewDeadline = d * 2 / 3
			o.election.RetryPeriod = max(d/7, 200*time.Millisecond)
		}
	}
	return nil
}
