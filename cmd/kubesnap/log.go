package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/spf13/cobra"
)

type logOptions struct {
	repo, branch, prefix, output string
	limit                        int
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
			return runLog(o, stdout)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.repo, "repo", "", "git repository folder")
	fs.StringVar(&o.branch, "branch", "", "branch to list (default: the checked-out branch)")
	fs.StringVar(&o.prefix, "path", "", "folder in the repository the cluster lives under")
	fs.IntVar(&o.limit, "limit", 0, "list at most this many commits (0: all)")
	fs.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return cmd
}

func runLog(o logOptions, out io.Writer) error {
	if _, err := os.Stat(o.repo); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("repository %s does not exist: give --repo the folder kubesnap snapshot wrote to", o.repo)
	} else if err != nil {
		return fmt.Errorf("repository %s: %w", o.repo, err)
	}
	repo, err := gitstore.Open(o.repo, gitstore.Options{Branch: o.branch, Prefix: o.prefix})
	if err != nil {
		return err
	}
	entries, err := repo.Log(o.limit)
	if err != nil {
		return err
	}
	if o.output == "json" {
		if entries == nil {
			entries = []gitstore.Entry{}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(entries)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMMIT\tTIME\tCHANGED\tSUMMARY")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", e.Commit[:12], e.Time.Format("2006-01-02 15:04:05Z"), e.Changed, e.Summary)
	}
	return tw.Flush()
}
