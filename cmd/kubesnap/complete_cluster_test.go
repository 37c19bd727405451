package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/internal/testenv"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// hasAll fails t unless every one of want is among got's lines.
func hasAll(t *testing.T, what string, got completed, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got.lines, w) {
			t.Errorf("%s: %q not among %d completions: %q", what, w, len(got.lines), got.lines)
		}
	}
}

func TestCompletionFromTheCluster(t *testing.T) {
	testenv.Require(t, env)
	ns := env.Namespace(t)
	c := env.Client(t)
	for _, name := range []string{"alpha", "beta"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
		if _, err := c.CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	kc := env.Kubeconfig

	t.Run("--include-resources: the served types that can be listed", func(t *testing.T) {
		got := complete(t, "diff", "--kubeconfig", kc, "--include-resources", "")
		hasAll(t, "diff --include-resources", got, "configmaps\tConfigMap", "deployments.apps\tDeployment", "namespaces\tNamespace", "customresourcedefinitions.apiextensions.k8s.io\tCustomResourceDefinition")
		for _, v := range got.values() {
			if strings.Contains(v, "/") || v == "tokenreviews.authentication.k8s.io" || v == "bindings" {
				t.Errorf("offered %q, which cannot be listed", v)
			}
		}
		if got.directive != noFiles {
			t.Errorf("directive %d", got.directive)
		}
	})
	t.Run("the last item of a list, without those listed", func(t *testing.T) {
		checkCompleted(t, complete(t, "restore", "--kubeconfig", kc, "--exclude-resources", "configmaps,deploy"),
			[]string{"configmaps,deployments.apps\tDeployment"}, noFiles)
		got := complete(t, "snapshot", "--kubeconfig", kc, "--include-resources", "configmaps,c")
		if slices.Contains(got.values(), "configmaps,configmaps") || !slices.Contains(got.values(), "configmaps,customresourcedefinitions.apiextensions.k8s.io") {
			t.Errorf("configmaps,c: %q", got.lines)
		}
	})
	t.Run("--sensitive-resources", func(t *testing.T) {
		checkCompleted(t, complete(t, "snapshot", "--kubeconfig", kc, "--sensitive-resources", "secr"), []string{"secrets\tSecret"}, noFiles)
	})
	t.Run("--include-namespaces: the namespaces", func(t *testing.T) {
		got := complete(t, "watch", "--kubeconfig", kc, "--include-namespaces", "")
		hasAll(t, "watch --include-namespaces", got, ns, "default", "kube-system")
		checkCompleted(t, complete(t, "diff", "--kubeconfig", kc, "--exclude-namespaces", "default,"+ns[:len(ns)-1]), []string{"default," + ns}, noFiles)
	})
	t.Run("the cluster's types first, even with a repository", func(t *testing.T) {
		repo, _ := completionFixture(t)
		got := complete(t, "diff", "--repo", repo, "--kubeconfig", kc, "--include-resources", "")
		hasAll(t, "diff --repo --include-resources", got, "pods\tPod")
	})
	t.Run("the object arguments, from the cluster without a repository", func(t *testing.T) {
		t.Setenv("KUBECONFIG", kc)
		hasAll(t, "history ''", complete(t, "history", ""), "configmaps/\tConfigMap", "deployments.apps/\tDeployment")
		got := complete(t, "history", "configmaps/")
		hasAll(t, "history configmaps/", got, "configmaps/"+ns+"/", "configmaps/default/")
		if got.directive != typingMore {
			t.Errorf("directive %d, want %d", got.directive, typingMore)
		}
		checkCompleted(t, complete(t, "blame", "configmaps/"+ns+"/a"), []string{"configmaps/" + ns + "/alpha"}, noFiles)
		checkCompleted(t, complete(t, "history", "ConfigMap/"+ns+"/b"), []string{"ConfigMap/" + ns + "/beta"}, noFiles)
		hasAll(t, "show REV namespaces/", complete(t, "show", "HEAD", "namespaces/"), "namespaces/"+ns)
		checkCompleted(t, complete(t, "history", "configmaps/no-such-namespace/"), nil, noFiles)
	})
	t.Run("the repository's objects before the cluster's", func(t *testing.T) {
		t.Setenv("KUBECONFIG", kc)
		repo, _ := completionFixture(t)
		checkCompleted(t, complete(t, "history", "--repo", repo, "configmaps/"), []string{"configmaps/other/", "configmaps/shop/"}, typingMore)
	})
}
