package main

import (
	"context"
	"maps"
	"net/url"
	"slices"

	"github.com/kubesnap/kubesnap/internal/kube"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// completionFlags are the kubeconfig flags as typed on cmd's command line
// (none for a command without them: KUBECONFIG, or ~/.kube/config, and
// its current context), each request bounded by completionRequestTimeout and
// the server's warnings dropped: nothing may reach the terminal.
func completionFlags(cmd *cobra.Command) *genericclioptions.ConfigFlags {
	f := genericclioptions.NewConfigFlags(false)
	f.Namespace = nil
	typed := pflag.NewFlagSet("typed", pflag.ContinueOnError)
	f.AddFlags(typed)
	typed.VisitAll(func(fl *pflag.Flag) {
		given := cmd.Flags().Lookup(fl.Name)
		if given == nil || !given.Changed {
			return
		}
		var err error
		src, list := given.Value.(pflag.SliceValue)
		dst, ok := fl.Value.(pflag.SliceValue)
		if list && ok {
			err = dst.Replace(src.GetSlice())
		} else {
			err = fl.Value.Set(given.Value.String())
		}
		if err != nil {
			return // parsed once already: left at its default if it fails now
		}
	})
	timeout := completionRequestTimeout.String()
	f.Timeout = &timeout
	f.WrapConfigFn = func(c *rest.Config) *rest.Config {
		c.WarningHandler = rest.NoWarnings{}
		return c
	}
	return f
}

// completionCluster connects to the cluster of cmd's kubeconfig flags,
// as completionFlags says.
func completionCluster(cmd *cobra.Command) (*kube.Cluster, error) {
	return kube.Connect(completionFlags(cmd))
}

// completionKubeconfig is the kubeconfig cmd's flags name, merged as
// kubectl merges it; nil when it cannot be read.
func completionKubeconfig(cmd *cobra.Command) *clientcmdapi.Config {
	raw, err := completionFlags(cmd).ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil
	}
	return &raw
}

// completeContexts offers the kubeconfig's contexts, each described by
// its cluster and user.
func completeContexts(_ context.Context, cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cfg := completionKubeconfig(cmd)
	if cfg == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, name := range slices.Sorted(maps.Keys(cfg.Contexts)) {
		c := cfg.Contexts[name]
		what := "cluster " + c.Cluster + ", user " + c.AuthInfo
		if name == cfg.CurrentContext {
			what = "current; " + what
		}
		out = appendCompletion(out, toComplete, name, what)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeClusters offers the kubeconfig's clusters, each described by
// its server's host (never the rest of its URL, which may hold
// credentials).
func completeClusters(_ context.Context, cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cfg := completionKubeconfig(cmd)
	if cfg == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, name := range slices.Sorted(maps.Keys(cfg.Clusters)) {
		host := ""
		if u, err := url.Parse(cfg.Clusters[name].Server); err == nil {
			host = u.Host
		}
		out = appendCompletion(out, toComplete, name, host)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeUsers offers the kubeconfig's users, by name alone.
func completeUsers(_ context.Context, cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cfg := completionKubeconfig(cmd)
	if cfg == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, name := range slices.Sorted(maps.Keys(cfg.AuthInfos)) {
		out = appendCompletion(out, toComplete, name, "")
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
