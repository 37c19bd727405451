package main

import (
	"fmt"
	"io"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/gitstore"
	"github.com/spf13/cobra"
)

type showOptions struct {
	repo, branch, prefix, output, identity, at string
	showSecrets                                bool
}

func newShow(stdout io.Writer) *cobra.Command {
	var o showOptions
	cmd := &cobra.Command{
		Use:   "show REV TYPE/NAMESPACE/NAME --repo DIR",
		Short: "Print one object as a commit stored it",
		Long: `Print one object as the revision REV (a commit, branch, tag or HEAD~N)
stored it, or with --at TIME instead of REV as the newest commit of the
branch at or before TIME stored it. No cluster is needed.

Secret values are hidden unless --show-secrets; an encrypted Secret is
decrypted with --age-identity (or SOPS_AGE_KEY_FILE), its values still
hidden unless --show-secrets.`,
		Example: `  kubesnap show HEAD~3 deployments.apps/shop/web --repo backup
  kubesnap show --at 2026-12-05T03:00:00Z configmap/shop/settings --repo backup -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			want := 2
			if o.at != "" {
				want = 1
			}
			if len(args) != want {
				return usageError{fmt.Errorf("%s takes REV and the object (%s), or --at TIME and the object; got %d arguments", cmd.CommandPath(), objectRefUsage, len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkRepo(o.repo, "text"); err != nil {
				return err
			}
			rev, arg := "", args[len(args)-1]
			if o.at == "" {
				rev = args[0]
			}
			return runShow(o, rev, arg, stdout)
		},
	}
	cmd.ValidArgsFunction = completeShowArgs()
	fs := cmd.Flags()
	fs.StringVar(&o.repo, "repo", "", "git repository folder")
	fs.StringVar(&o.branch, "branch", "", "branch --at reads (default: the checked-out branch)")
	fs.StringVar(&o.prefix, "path", "", "folder in the repository the cluster lives under")
	fs.StringVar(&o.at, "at", "", "show the object as the newest commit at or before this time stored it (RFC 3339, or a date 2006-01-02 meaning its end, UTC), instead of REV")
	fs.BoolVar(&o.showSecrets, "show-secrets", false, "show Secret values (hidden by default)")
	identityFlag(fs, &o.identity, "an encrypted object")
	showFormats().outputFlag(cmd, &o.output)
	return cmd
}

// completeShowArgs completes REV, then the object at REV; or with --at
// the object at that time.
func completeShowArgs() cobra.CompletionFunc {
	revisions := quietly(completeRevisions)
	object := completeObjectArg(func(cmd *cobra.Command, args []string) (string, string, bool) {
		if at := flagValue(cmd, "at"); at != "" {
			return "", at, len(args) == 0
		}
		if len(args) != 1 {
			return "", "", false
		}
		return args[0], "", true
	})
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if flagValue(cmd, "at") == "" && len(args) == 0 {
			return revisions(cmd, args, toComplete)
		}
		return object(cmd, args, toComplete)
	}
}

// showFormats are show's -o values; "text" is taken for yaml too.
func showFormats() formats { return formats{"yaml", "json"} }

// showRevision resolves REV, or --at, to a revision.
func showRevision(repo *gitstore.Repo, rev, at string) (*gitstore.Revision, error) {
	if at == "" {
		return repo.At(rev)
	}
	t, err := logTime("at", at, true)
	if err != nil {
		return nil, err
	}
	return repo.Before(t)
}

func runShow(o showOptions, rev, arg string, out io.Writer) error {
	if o.output == "text" {
		o.output = "yaml"
	}
	if err := showFormats().check(o.output); err != nil {
		return err
	}
	repo, err := openStored(o.repo, o.branch, o.prefix)
	if err != nil {
		return err
	}
	v, err := showRevision(repo, rev, o.at)
	if err != nil {
		return err
	}
	id, err := resolveObject(v, arg)
	if err != nil {
		return err
	}
	open, err := newStoredOpener(o.identity, o.showSecrets)
	if err != nil {
		return err
	}
	data, err := readShown(v, id, open)
	if err != nil {
		return err
	}
	if o.output == "json" {
		obj, err := canonical.Parse(data)
		if err != nil {
			return fmt.Errorf("%s at %s: %w", id, v.Name, errNotOneObject)
		}
		return writePlainJSON(out, obj.Object)
	}
	_, err = out.Write(data)
	return err
}

// readShown reads the object id at v as show prints it: decrypted when
// it can be, a Secret's values hidden unless open shows them, and only
// when the file is one Kubernetes object.
func readShown(v *gitstore.Revision, id canonical.ID, open *storedOpener) ([]byte, error) {
	p := canonical.PathOf(id)
	what := fmt.Sprintf("%s at %s", id, v.Name)
	data, err := v.ReadObject(p)
	if notFound(err) {
		return nil, fmt.Errorf("%s is not in revision %s: it was deleted before, or created after (see kubesnap history %s)", id, v.Name, id)
	}
	if err != nil {
		return nil, err
	}
	if data, _, err = open.open(what, data); err != nil {
		return nil, err
	}
	if _, err := parseStored(data); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if !open.showSecrets && (isSecretID(id) || isSecretData(data)) {
		return hideSecretValues(what, data)
	}
	return data, nil
}
