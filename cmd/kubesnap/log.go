package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/spf13/cobra"
)

type logOptions struct {
	repo, branch, prefix, output string
	limit                        int
	since, until                 string
}

func newLog(stdout io.Writer) *cobra.Command {
	var o logOptions
	cmd := &cobra.Command{
		Use:   "log --repo DIR",
		Short: "List the snapshots in a repository: commit, time, objects changed, summary",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkRepo(o.repo, o.output); err != nil {
				return err
			}
			page, err := o.page()
			if err != nil {
				return err
			}
			return runLog(o, page, stdout)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.repo, "repo", "", "git repository folder")
	fs.StringVar(&o.branch, "branch", "", "branch to list (default: the checked-out branch)")
	fs.StringVar(&o.prefix, "path", "", "folder in the repository the cluster lives under: list only the commits that changed something there")
	fs.IntVar(&o.limit, "limit", 0, "list at most this many commits (0: all)")
	fs.StringVar(&o.since, "since", "", "list only commits made at or after this time (RFC 3339, or a date 2006-01-02 meaning its start, UTC)")
	fs.StringVar(&o.until, "until", "", "list only commits made at or before this time (RFC 3339, or a date 2006-01-02 meaning its end, UTC)")
	textOrJSON().outputFlag(cmd, &o.output)
	return cmd
}

// page turns --limit, --since and --until into gitstore's options; a bad
// value is bad usage.
func (o logOptions) page() (gitstore.LogOptions, error) {
	if o.limit < 0 {
		return gitstore.LogOptions{}, usageError{fmt.Errorf("bad --limit %d: give a count, or 0 for all", o.limit)}
	}
	since, err := logTime("since", o.since, false)
	if err != nil {
		return gitstore.LogOptions{}, err
	}
	until, err := logTime("until", o.until, true)
	if err != nil {
		return gitstore.LogOptions{}, err
	}
	return gitstore.LogOptions{Limit: o.limit, Since: since, Until: until}, nil
}

// logTime parses the value of --since or --until: an RFC 3339 time, or a
// date in UTC, meaning its first instant, or its last when end is set
// (--until 2026-12-05 lists that whole day).
func logTime(flag, v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("bad --%s %q: give a time as RFC 3339 (2006-01-02T15:04:05Z) or a date (2006-01-02)", flag, v)}
	}
	if end {
		return d.AddDate(0, 0, 1).Add(-time.Nanosecond), nil
	}
	return d, nil
}

func runLog(o logOptions, page gitstore.LogOptions, out io.Writer) error {
	if _, err := os.Stat(o.repo); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("repository %s does not exist: give --repo the folder kubesnap snapshot wrote to", o.repo)
	} else if err != nil {
		return fmt.Errorf("repository %s: %w", o.repo, err)
	}
	repo, err := gitstore.Open(o.repo, gitstore.Options{Branch: o.branch, Prefix: o.prefix})
	if err != nil {
		return err
	}
	w := newLogWriter(o.output, out)
	if err := repo.Log(page, w.entry); err != nil {
		return err
	}
	return w.close()
}
