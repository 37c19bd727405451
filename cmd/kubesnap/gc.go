package main

import (
	"fmt"
	"io"
	"time"

	"github.com/kubesnap/kubesnap/internal/gitstore"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"github.com/spf13/cobra"
)

type gcOptions struct {
	repo, output string
	grace        time.Duration
}

func newGC(stdout io.Writer) *cobra.Command {
	o := gcOptions{grace: gitstore.DefaultMaintainOptions().Grace}
	cmd := &cobra.Command{
		Use:   "gc --repo DIR",
		Short: "Gather the repository's loose objects and small packs into packs, as the watcher does as it runs",
		Long: `gc runs by hand the maintenance kubesnap watch runs every few dozen commits:
loose objects and small packs are gathered into one new pack so that the
packs grow geometrically (each at least twice the next smaller one), and
what the new pack replaced is removed: loose objects at once, old packs
after --grace, for readers in other processes that listed them before.
It never deletes an object that is not in a pack synced to disk, and it
is safe while kubesnap watch, diff, log or git itself run on the same
repository. git gc --aggressive still packs tighter (with deltas).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkRepo(o.repo, o.output); err != nil {
				return err
			}
			if o.grace < 0 {
				return usageError{fmt.Errorf("bad --grace %s: give a duration of 0 or more", o.grace)}
			}
			return runGC(cmd, o, stdout)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.repo, "repo", "", "git repository folder")
	fs.DurationVar(&o.grace, "grace", o.grace, "how long replaced packs stay on disk for readers that started before (0: remove them now)")
	textOrJSON().outputFlag(cmd, &o.output)
	return cmd
}

func runGC(cmd *cobra.Command, o gcOptions, out io.Writer) error {
	// Read-only: gc must not finish an interrupted commit of a watcher
	// that may be running; it touches objects, never the branch.
	repo, err := gitstore.Open(o.repo, gitstore.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	res, err := repo.Maintain(cmd.Context(), gitstore.MaintainOptions{Grace: o.grace, MinLoose: 1})
	if err != nil {
		return err
	}
	if res.Skipped == "no repository yet" {
		return fmt.Errorf("repository %s has no commits yet: run kubesnap snapshot first", o.repo)
	}
	if o.output == "json" {
		return writeJSON(out, res)
	}
	return writeGC(out, res, o.grace)
}

func writeGC(out io.Writer, res snapsync.MaintainResult, grace time.Duration) error {
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(out, format, a...)
		}
	}
	if res.Skipped != "" {
		p("nothing done: %s\n", res.Skipped)
	} else {
		p("packed %d loose objects and %d packs into one new pack\n", res.LoosePacked, res.PacksRolled)
	}
	p("packs: %d before, %d after\n", res.PacksBefore, res.PacksAfter)
	if res.PacksRemoved > 0 {
		p("removed %d replaced packs\n", res.PacksRemoved)
	}
	if res.PacksWaiting > 0 {
		p("%d replaced packs stay for readers until %s has passed; the next gc or watcher maintenance removes them\n", res.PacksWaiting, grace)
	}
	p("objects: %s before, %s after\n", bytesText(res.SizeBefore), bytesText(res.SizeAfter))
	return err
}

// bytesText is a size for people: 1.5 MiB.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
