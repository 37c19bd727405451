package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/spf13/cobra"
)

type blameOptions struct {
	repo, branch, prefix, output, rev string
	showSecrets                       bool
}

func newBlame(stdout io.Writer) *cobra.Command {
	var o blameOptions
	cmd := &cobra.Command{
		Use:   "blame TYPE/NAMESPACE/NAME --repo DIR",
		Short: "Print every line of a stored object with the commit, time and author that last changed it",
		Long: `Print every line of an object's stored file, at the branch head or at
--rev, with the commit, time and author that last changed it. No cluster is
needed. A Secret's values are hidden unless --show-secrets, in whatever form
it is stored (plain, redacted or encrypted).`,
		Example: `  kubesnap blame deployments.apps/shop/web --repo backup
  kubesnap blame configmap/shop/settings --repo backup --rev v1 -o json`,
		Args: objectArg,
		ValidArgsFunction: completeObjectArg(func(cmd *cobra.Command, args []string) (string, string, bool) {
			return flagValue(cmd, "rev"), "", len(args) == 0
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkRepo(o.repo, o.output); err != nil {
				return err
			}
			return runBlame(o, args[0], stdout)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.repo, "repo", "", "git repository folder")
	fs.StringVar(&o.branch, "branch", "", "branch whose head to read when --rev is not given (default: the checked-out branch)")
	fs.StringVar(&o.prefix, "path", "", "folder in the repository the cluster lives under")
	fs.StringVar(&o.rev, "rev", "", "revision to read: a commit, branch, tag or HEAD~N (default: the branch head)")
	fs.BoolVar(&o.showSecrets, "show-secrets", false, "show a Secret's values (hidden by default)")
	textOrJSON().outputFlag(cmd, &o.output)
	return cmd
}

// blameEntry is one line of -o json.
type blameEntry struct {
	Line   int    `json:"line"`
	Commit string `json:"commit"`
	Time   string `json:"time"`
	Author string `json:"author"`
	Text   string `json:"text"`
}

func runBlame(o blameOptions, arg string, out io.Writer) error {
	repo, err := openStored(o.repo, o.branch, o.prefix)
	if err != nil {
		return err
	}
	v, err := repo.At(o.rev)
	if err != nil {
		return err
	}
	id, err := resolveObject(v, arg)
	if err != nil {
		return err
	}
	// The file is checked before its history is read.
	data, err := v.ReadObject(canonical.PathOf(id))
	if notFound(err) {
		return fmt.Errorf("%s is not in revision %s: it was deleted before, or created after (see kubesnap history %s)", id, v.Name, id)
	}
	if err != nil {
		return err
	}
	if _, err := parseStored(data); err != nil {
		return fmt.Errorf("%s at %s: %w", id, v.Name, err)
	}
	lines, err := blameFile(repo, canonical.PathOf(id), v.Commit(), data)
	if err != nil {
		return fmt.Errorf("blame %s at %s: %w", id, v.Name, err)
	}
	texts := make([]string, len(lines))
	for i, l := range lines {
		texts[i] = l.text
	}
	if !o.showSecrets && (isSecretID(id) || isSecretData(data)) {
		texts = redactSecretLines(texts, data)
	}
	entries := make([]blameEntry, len(lines))
	for i, l := range lines {
		entries[i] = blameEntry{Line: i + 1, Commit: l.commit, Time: l.time.Format("2006-01-02T15:04:05Z07:00"), Author: l.author, Text: texts[i]}
	}
	if o.output == "json" {
		return writePlainJSON(out, entries)
	}
	return writeBlame(out, entries)
}

// writeBlame prints the lines aligned: commit, time, author padded to
// the longest, line number, text.
func writeBlame(out io.Writer, entries []blameEntry) error {
	width, digits := 0, len(fmt.Sprint(len(entries)))
	for _, e := range entries {
		width = max(width, len(termSafe(e.Author)))
	}
	for _, e := range entries {
		if _, err := fmt.Fprintf(out, "%.12s  %s  %-*s  %*d  %s\n", e.Commit, strings.Replace(e.Time, "T", " ", 1), width, termSafe(e.Author), digits, e.Line, termSafe(e.Text)); err != nil {
			return err
		}
	}
	return nil
}
