package main

import (
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// kubesnap is also a kubectl plugin (kubectl finds kubectl-<name> on the
// PATH and runs it for kubectl <name>), and the completer of that plugin's
// arguments: since 1.26, kubectl completes kubectl <name> … by running
// kubectl_complete-<name> with the plugin's arguments, the last one being
// the word to complete ("" for a new word), and reads cobra's __complete
// output from it. One binary plays the three parts, told apart by the name
// it runs as (make install links the three names).
const (
	pluginName       = "kubectl snap"
	pluginBinary     = "kubectl-snap"
	pluginCompletion = "kubectl_complete-snap"
)

// invokedAs prepares root for the name argv0 runs it as and returns the
// arguments to give it: as kubectl-snap, help, usage and errors say
// "kubectl snap"; as kubectl_complete-snap, args are a completion request.
func invokedAs(root *cobra.Command, argv0 string, args []string) []string {
	name := filepath.Base(argv0)
	if ext := filepath.Ext(name); strings.EqualFold(ext, ".exe") {
		name = strings.TrimSuffix(name, ext)
	}
	switch name {
	case pluginBinary:
		asPlugin(root)
	case pluginCompletion:
		asPlugin(root)
		if len(args) == 0 {
			args = []string{""} // run by hand: complete a first word
		}
		return append([]string{cobra.ShellCompRequestCmd}, args...)
	}
	return args
}

// asPlugin names root "kubectl snap" wherever help, usage and errors name
// the program (cobra's display name), examples included.
func asPlugin(root *cobra.Command) {
	if root.Annotations == nil {
		root.Annotations = map[string]string{}
	}
	root.Annotations[cobra.CommandDisplayNameAnnotation] = pluginName
	var rename func(*cobra.Command)
	rename = func(c *cobra.Command) {
		c.Example = strings.ReplaceAll(c.Example, root.Name()+" ", pluginName+" ")
		for _, sub := range c.Commands() {
			rename(sub)
		}
	}
	rename(root)
}
