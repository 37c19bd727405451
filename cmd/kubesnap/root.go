package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "kubesnap",
		Short:         "Keep a Kubernetes cluster's whole state in git: snapshot, review, restore",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	var configPath string
	root.PersistentFlags().StringVar(&configPath, "config", "", "configuration file (default: "+configName+" beside --repo's folder, else $XDG_CONFIG_HOME/kubesnap/config.yaml); flags override it")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		switch {
		case cmd.Name() == "help", cmd.Name() == "completion", cmd.Name() == cobra.ShellCompRequestCmd, cmd.Name() == cobra.ShellCompNoDescRequestCmd,
			cmd.Parent() != nil && cmd.Parent().Name() == "completion":
			return nil // a broken file must not break help or completion
		case cmd.Name() == "version" && cmd.Parent() == cmd.Root():
			return nil // nor version, which reads nothing
		}
		return loadConfig(cmd, configPath)
	}
	root.AddCommand(newSnapshot(stdout, stderr), newWatch(stderr), newLog(stdout), newGC(stdout), newDiff(stdout, stderr), newRestore(stdout, stderr), newRules(stdout))
	root.AddCommand(newHistory(stdout))
	root.AddCommand(newShow(stdout))
	root.AddCommand(newBlame(stdout))
	addCompletions(root)
	root.AddCommand(newVersion(stdout))
	return root
}

// clusterFlags are cli-runtime's kubeconfig flags, less --namespace: the
// namespace filters say which namespaces a command works on.
func clusterFlags(fs *pflag.FlagSet) *genericclioptions.ConfigFlags {
	f := genericclioptions.NewConfigFlags(true)
	f.Namespace = nil
	f.AddFlags(fs)
	return f
}

// filterFlags are the filters every command shares.
type filterFlags struct {
	includeNamespaces, excludeNamespaces []string
	includeResources, excludeResources   []string
	selector                             string
}

func (f *filterFlags) add(fs *pflag.FlagSet) {
	fs.StringSliceVar(&f.includeNamespaces, "include-namespaces", nil, "only these namespaces (comma-separated); cluster-scoped objects are then left out, but for these Namespaces and --include-resources")
	fs.StringSliceVar(&f.excludeNamespaces, "exclude-namespaces", nil, "leave out these namespaces")
	fs.StringSliceVar(&f.includeResources, "include-resources", nil, "only these resources, in kubectl's form (configmaps,deployments.apps)")
	fs.StringSliceVar(&f.excludeResources, "exclude-resources", nil, "leave out these resources")
	fs.StringVarP(&f.selector, "selector", "l", "", "only objects matching this label selector")
}

func (f *filterFlags) filter() (canonical.Filter, error) {
	sel, err := canonical.ParseSelector(f.selector)
	if err != nil {
		return canonical.Filter{}, usageError{err}
	}
	out := canonical.Filter{
		IncludeNamespaces: f.includeNamespaces, ExcludeNamespaces: f.excludeNamespaces,
		IncludeResources: f.includeResources, ExcludeResources: f.excludeResources,
		Selector: sel,
	}
	if err := out.Validate(); err != nil {
		return out, usageError{err}
	}
	return out, nil
}

// checkRepo validates the flags every repository command shares.
func checkRepo(repo, output string) error {
	if repo == "" {
		return usageError{errors.New("--repo is required")}
	}
	return textOrJSON().check(output)
}

// formats are the values a command's -o (or --log-format) takes, the
// first its default: the flag's help, its check and its shell completion
// all read them, so that they cannot drift apart.
type formats []string

// textOrJSON are the formats of most commands.
func textOrJSON() formats { return formats{"text", "json"} }

// outputFlag adds -o/--output to cmd, taking f.
func (f formats) outputFlag(cmd *cobra.Command, p *string) {
	f.flag(cmd, p, "output", "o", "output format")
}

// flag adds the flag name (shorthand short, "" for none) to cmd, whose
// values are f, with its completion.
func (f formats) flag(cmd *cobra.Command, p *string, name, short, what string) {
	cmd.Flags().StringVarP(p, name, short, f[0], what+": "+f.String())
	mustRegister(cmd, name, func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, v := range f {
			out = appendCompletion(out, toComplete, v, "")
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
}

// String is "a, b or c".
func (f formats) String() string {
	if len(f) < 2 {
		return strings.Join(f, "")
	}
	return strings.Join(f[:len(f)-1], ", ") + " or " + f[len(f)-1]
}

// check refuses a value not among f as bad usage.
func (f formats) check(o string) error {
	if slices.Contains(f, o) {
		return nil
	}
	return usageError{fmt.Errorf("bad -o %q: use one of %s", o, strings.Join(f, ", "))}
}

// noArgs refuses positional arguments as bad usage (exit 2): for diff, a
// stray argument must not read as drift.
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return usageError{fmt.Errorf("%w: %s takes only flags", err, cmd.CommandPath())}
	}
	return nil
}

// writeJSON prints v as indented JSON, for -o json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
