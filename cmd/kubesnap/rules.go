package main

import (
	"context"
	"fmt"
	"io"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

type rulesOptions struct {
	explain, output, repo string
	sensitive             []string
	sensitiveFlag         string // where sensitive came from, for errors
	cluster               *genericclioptions.ConfigFlags
}

func newRules(stdout io.Writer) *cobra.Command {
	var o rulesOptions
	cmd := &cobra.Command{
		Use:   "rules [--explain FILE|-|TYPE/[NAMESPACE/]NAME]",
		Short: "Print the effective normalization rules, or explain what they do to one object",
		Long: `rules prints every rule kubesnap applies before it writes or compares an
object: the built-in ones (what is skipped, what is dropped and why),
then the normalize: rules of the configuration file (see --config).

With --explain it normalizes one object as a snapshot does and says which
rules touched it and which fields each removed, then shows what is stored.
The object is a YAML or JSON file ("-" for standard input; for manager
rules, save it with kubectl get -o yaml --show-managed-fields), or a live
object read from the cluster: TYPE/NAMESPACE/NAME, or TYPE/NAME for a
cluster-scoped one, where TYPE is a resource in kubectl's form
(deployments.apps, configmaps) or a kind (Deployment).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := textOrJSON().check(o.output); err != nil {
				return err
			}
			o.sensitiveFlag = "--sensitive-resources"
			if !cmd.Flags().Changed("sensitive-resources") && len(o.sensitive) > 0 {
				o.sensitiveFlag = "secrets.sensitiveResources (configuration file)"
			}
			return runRules(cmd.Context(), o, stdout)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.explain, "explain", "", "explain what the rules do to this object: a file, - for standard input, or TYPE/[NAMESPACE/]NAME live")
	textOrJSON().outputFlag(cmd, &o.output)
	fs.StringVar(&o.repo, "repo", "", "the repository whose "+configName+" (in the folder that holds it) to read, as the other commands do")
	fs.StringSliceVar(&o.sensitive, "sensitive-resources", nil, "more types whose values --explain hides as Secrets' (as snapshot's flag; the configuration file's secrets.sensitiveResources by default)")
	o.cluster = clusterFlags(fs)
	return cmd
}

// rulesReport is what rules -o json prints.
type rulesReport struct {
	BuiltIn []canonical.DescribedRule `json:"builtIn"`
	User    []canonical.DescribedRule `json:"user"`
	File    string                    `json:"file,omitempty"`
}

func runRules(ctx context.Context, o rulesOptions, out io.Writer) error {
	rules := rulesOf(ctx)
	file := ""
	if cfg := configOf(ctx); cfg != nil {
		file = cfg.file
	}
	if o.explain != "" {
		obj, t, sensitive, err := explainTarget(ctx, o)
		if err != nil {
			return err
		}
		return writeExplain(out, o.output, obj, t, rules, sensitive)
	}
	rep := rulesReport{BuiltIn: canonical.DefaultRules(), User: rules.Describe(), File: file}
	if o.output == "json" {
		return writeJSON(out, rep)
	}
	fmt.Fprintln(out, "# built-in rules (RULES.md), in the order they act")
	for _, d := range rep.BuiltIn {
		fmt.Fprint(out, d.String())
	}
	switch {
	case file == "":
		fmt.Fprintln(out, "# no configuration file: no rules of yours (see kubesnap --help for --config)")
	case len(rep.User) == 0:
		fmt.Fprintf(out, "# %s has no normalize: rules\n", file)
	default:
		fmt.Fprintf(out, "# the normalize: rules of %s, applied first, in order\n", file)
		for _, d := range rep.User {
			fmt.Fprint(out, d.String())
		}
	}
	return nil
}
