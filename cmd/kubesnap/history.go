package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/diff"
	"github.com/kubesnap/kubesnap/internal/gitstore"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"github.com/spf13/cobra"
)

type historyOptions struct {
	logOptions
	identity           string
	patch, showSecrets bool
}

func newHistory(stdout io.Writer) *cobra.Command {
	var o historyOptions
	cmd := &cobra.Command{
		Use:   "history TYPE/NAMESPACE/NAME --repo DIR",
		Short: "List the commits that changed one object: when, who, and which fields",
		Long: `List the commits of the branch that changed one object, newest first:
commit, time, who (the commit's author, and the field manager the watcher
named), and what (created, deleted, or the fields that changed). It follows
the object through deletion and re-creation, and when its type moved to
another group (ingresses.extensions to ingresses.networking.k8s.io).

TYPE is the type's folder in the repository (deployments.apps), its
resource when one group alone has it (deployments), or its kind
(Deployment). No cluster is needed. Secret values are never shown, in
-p either, unless --show-secrets.`,
		Example: `  kubesnap history deployments.apps/shop/web --repo backup
  kubesnap history deployment/shop/web --repo backup -p --limit 3
  kubesnap history namespaces/shop --repo backup --since 2026-12-01 -o json`,
		Args: objectArg,
		ValidArgsFunction: completeObjectArg(func(_ *cobra.Command, args []string) (string, string, bool) {
			return "", "", len(args) == 0 // the branch head
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkRepo(o.repo, o.output); err != nil {
				return err
			}
			page, err := o.page()
			if err != nil {
				return err
			}
			return runHistory(o, args[0], gitstore.HistoryOptions{Limit: page.Limit, Since: page.Since, Until: page.Until}, stdout)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.repo, "repo", "", "git repository folder")
	fs.StringVar(&o.branch, "branch", "", "branch to read (default: the checked-out branch)")
	fs.StringVar(&o.prefix, "path", "", "folder in the repository the cluster lives under")
	fs.IntVar(&o.limit, "limit", 0, "list at most this many changes (0: all)")
	fs.StringVar(&o.since, "since", "", "list only commits made at or after this time (RFC 3339, or a date 2006-01-02 meaning its start, UTC)")
	fs.StringVar(&o.until, "until", "", "list only commits made at or before this time (RFC 3339, or a date 2006-01-02 meaning its end, UTC)")
	fs.BoolVarP(&o.patch, "patch", "p", false, "print each change as a unified diff")
	fs.BoolVar(&o.showSecrets, "show-secrets", false, "show Secret values in -p (hidden by default)")
	identityFlag(fs, &o.identity, "encrypted Secrets, so that -p names the keys whose values changed")
	textOrJSON().outputFlag(cmd, &o.output)
	return cmd
}

// objectArg takes exactly one argument, the object.
func objectArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("%s takes one object, %s; got %d arguments", cmd.CommandPath(), objectRefUsage, len(args))}
	}
	return nil
}

// openStored opens the repository dir to read, saying so when it is not
// there.
func openStored(dir, branch, prefix string) (*gitstore.Repo, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("repository %s does not exist: give --repo the folder kubesnap snapshot wrote to", dir)
	} else if err != nil {
		return nil, fmt.Errorf("repository %s: %w", dir, err)
	}
	return gitstore.Open(dir, gitstore.Options{Branch: branch, Prefix: prefix, ReadOnly: true})
}

func runHistory(o historyOptions, arg string, page gitstore.HistoryOptions, out io.Writer) error {
	repo, err := openStored(o.repo, o.branch, o.prefix)
	if err != nil {
		return err
	}
	id, err := historyObject(repo, arg)
	if err != nil {
		return err
	}
	open, err := newStoredOpener(o.identity, o.showSecrets)
	if err != nil {
		return err
	}
	h := &historyReader{repo: repo, open: open, id: id, patch: o.patch, showSecrets: o.showSecrets, prefix: repo.Prefix(), recent: map[string]*storedVersion{}}
	w := newHistoryWriter(o.output, out)
	page.Contents = true
	err = repo.History(canonical.PathOf(id), page, func(c gitstore.ObjectChange) error {
		e, err := h.entry(c)
		if err != nil {
			return err
		}
		return w.entry(e)
	})
	if err != nil {
		return err
	}
	if w.n == 0 && page.Since.IsZero() && page.Until.IsZero() {
		// A RESOURCE.GROUP taken as given: the head's folders may say
		// what is wrong (a cluster-scoped type named with a namespace).
		if head, err := repo.At(""); err == nil {
			if _, err := resolveObject(head, arg); err != nil {
				return err
			}
		}
		return fmt.Errorf("%s was never stored on branch %s of %s: check its type, namespace and name (kubesnap log, or git ls-tree -r HEAD in the repository)", id, repo.Branch(), o.repo)
	}
	return w.close()
}

// historyObject resolves the object at the branch head; a TYPE written
// RESOURCE.GROUP whose folder the head has is taken as it is, without
// reading the head's folders (a tenth of a second in a large repository:
// go-git loads its pack indexes), since resolveObject would take it so.
func historyObject(repo *gitstore.Repo, arg string) (canonical.ID, error) {
	parts, err := splitObjectArg(arg)
	if err != nil {
		return canonical.ID{}, err
	}
	if strings.Contains(parts[0], ".") {
		return qualifiedObject(parts), nil
	}
	head, err := repo.At("")
	if err != nil {
		return canonical.ID{}, err
	}
	return resolveObject(head, arg)
}

// historyEntry is one line of kubesnap history, and an element of -o json.
type historyEntry struct {
	Commit string `json:"commit"`
	Time   string `json:"time"`
	Author string `json:"author"`
	// Manager is the field manager the commit message names for the
	// object ("M path (manager)"), when it names one.
	Manager string `json:"manager,omitempty"`
	// Change is created, changed, deleted or moved (from another group).
	Change string   `json:"change"`
	Path   string   `json:"path"`
	From   string   `json:"from,omitempty"`
	Fields []string `json:"fields,omitempty"`
	// What is the change as the table says it.
	What string `json:"what"`
	Diff string `json:"diff,omitempty"`
}

// historyReader turns gitstore's changes into entries: it reads both
// versions, compares their fields and renders the diff.
type historyReader struct {
	repo               *gitstore.Repo
	open               *storedOpener
	id                 canonical.ID
	prefix             string
	patch, showSecrets bool
	recent             map[string]*storedVersion
}

func (h *historyReader) entry(c gitstore.ObjectChange) (historyEntry, error) {
	e := historyEntry{
		Commit: c.Commit, Time: c.Time.Format("2006-01-02T15:04:05Z07:00"), Author: c.Author,
		Manager: managerOf(c.Message, c.Op, c.Path, h.prefix), Path: c.Path, From: c.From,
	}
	before, err := h.version(c, c.From, c.Before, c.BeforeData)
	if err != nil {
		return e, err
	}
	after, err := h.version(c, c.Path, c.After, c.AfterData)
	if err != nil {
		return e, err
	}
	switch {
	case c.Op == snapsync.Deleted:
		e.Change, e.What = "deleted", "deleted"
	case c.Op == snapsync.Added && c.From == "":
		e.Change, e.What = "created", "created"
	default:
		e.Change = "changed"
		e.Fields, e.What = describeChange(before, after)
		if c.From != "" {
			e.Change = "moved"
			e.What = "moved from " + canonical.Shown(c.From) + movedDetail(e.Fields, e.What)
		}
	}
	if h.patch {
		e.Diff = h.diff(c, before, after)
	}
	return e, nil
}

// storedVersion is one version of the object: its bytes as the commands
// read them, and the object parsed (or why not).
type storedVersion struct {
	data     []byte
	obj      map[string]any
	parseErr error
}

// version reads, opens and parses one side of a change; nil for none.
// The older side of a change is the newer side of the next one listed:
// the last versions read are kept by blob id, so each is read once.
func (h *historyReader) version(c gitstore.ObjectChange, p, blob string, data []byte) (*storedVersion, error) {
	if blob == "" {
		return nil, nil
	}
	if v := h.recent[blob]; v != nil {
		return v, nil
	}
	if p == "" {
		p = c.Path
	}
	what := fmt.Sprintf("%s at %.12s", canonical.Shown(p), c.Commit)
	data, _, err := h.open.open(what, data)
	if err != nil {
		return nil, err
	}
	v := &storedVersion{data: data}
	v.obj, v.parseErr = parseStored(data)
	if len(h.recent) >= 4 {
		clear(h.recent)
	}
	h.recent[blob] = v
	return v, nil
}

// bytesOf is the version's bytes, nil for none.
func (v *storedVersion) bytesOf() []byte {
	if v == nil {
		return nil
	}
	return v.data
}

// describeChange names the fields that differ, or why none are named.
func describeChange(before, after *storedVersion) ([]string, string) {
	fields, err := changedFields(before, after)
	switch {
	case err != nil:
		return nil, "changed (" + err.Error() + ")"
	case len(fields) == 0:
		return nil, "changed (formatting or hidden values only)"
	}
	return fields, "changed " + joinFields(fields)
}

func movedDetail(fields []string, what string) string {
	if len(fields) == 0 {
		return ""
	}
	return "; " + what
}

// diff renders the change as a unified diff, Secret values hidden unless
// asked, wherever the Secret is stored.
func (h *historyReader) diff(c gitstore.ObjectChange, beforeV, afterV *storedVersion) string {
	before, after := beforeV.bytesOf(), afterV.bytesOf()
	id := h.id
	if !h.showSecrets && !isSecretID(id) && (isSecretData(before) || isSecretData(after)) {
		id = canonical.ID{Resource: "secrets", Namespace: id.Namespace, Name: id.Name}
	}
	rep := diff.Build([]diff.Pair{{ID: id, Path: c.Path, From: before, To: after}}, 1, diff.Options{
		From: "a", To: "b", ShowSecrets: h.showSecrets,
	})
	if len(rep.Entries) == 0 {
		return ""
	}
	return rep.Entries[0].Diff
}

// managerOf is the field manager the commit message names for the file
// p (relative to prefix), on its "<op> <path> (<manager>)" line.
func managerOf(message string, op snapsync.Op, p, prefix string) string {
	paths := []string{p}
	if prefix != "" {
		paths = append(paths, prefix+"/"+p)
	}
	for line := range strings.SplitSeq(message, "\n") {
		for _, q := range paths {
			rest, ok := strings.CutPrefix(line, string(op)+" "+q+" (")
			if ok && strings.HasSuffix(rest, ")") {
				return canonical.Shown(strings.TrimSuffix(rest, ")"))
			}
		}
	}
	return ""
}
