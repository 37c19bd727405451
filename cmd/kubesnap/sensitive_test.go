package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/kubesnap/kubesnap/canonical"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestResolveSensitive(t *testing.T) {
	disc := snapsync.Discovery{
		Types: []canonical.Type{
			{Version: "v1", Resource: "secrets", Kind: "Secret"},
			{Group: "example.com", Version: "v1", Resource: "credentials", Kind: "Credential"},
			{Group: "example.org", Version: "v1", Resource: "tokens", Kind: "Token"},
			{Group: "example.net", Version: "v1", Resource: "tokens", Kind: "Token"},
		},
		FailedGroups: map[string]string{"metrics.example.io/v1beta1": "service unavailable"},
	}
	for _, tc := range []struct {
		name  string
		names []string
		want  []string
		err   string
	}{
		{"the full form is kept", []string{"credentials.example.com"}, []string{"credentials.example.com"}, ""},
		{"a resource that names one type becomes its full form", []string{"credentials"}, []string{"credentials.example.com"}, ""},
		{"a kind that names one type becomes its full form", []string{"credential"}, []string{"credentials.example.com"}, ""},
		{"two names for one type count once", []string{"Credential", "credentials.example.com"}, []string{"credentials.example.com"}, ""},
		{"a short form that names two types is refused", []string{"tokens"}, nil, `"tokens" could mean tokens.example.net or tokens.example.org`},
		{"another group is refused, naming the served one", []string{"credentials.example.org"}, nil, `"credentials.example.org" is not a type this server serves; did you mean credentials.example.com?`},
		{"a typo is refused, naming what it could mean", []string{"credentals"}, nil, "did you mean credentials.example.com?"},
		{"a name like nothing is refused, saying where to look", []string{"passwords.vault.io"}, nil, "kubectl api-resources"},
		{"a type of a group whose discovery failed is kept", []string{"keys.metrics.example.io"}, []string{"keys.metrics.example.io"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveSensitive(tc.names, disc, "--sensitive-resources")
			if tc.err != "" {
				var usage usageError
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &usage) {
					t.Fatalf("error %v, want a usage error saying %q", err, tc.err)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestSensitiveTypeOfAFile: rules --explain of a file asks no server, so
// any name that could mean the file's type hides its values.
func TestSensitiveTypeOfAFile(t *testing.T) {
	cred := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Credential"}}
	stored := &canonical.Type{Group: "example.com", Resource: "credentials", Kind: "Credential"}
	for _, tc := range []struct {
		names []string
		t     *canonical.Type
		want  bool
	}{
		{[]string{"credentials.example.com"}, stored, true},
		{[]string{"credentials"}, stored, true},
		{[]string{"Credential"}, nil, true},
		{[]string{"credentials"}, nil, true},
		{[]string{"anything.example.com"}, nil, true},
		{[]string{"credentials.example.org"}, nil, false},
		{[]string{"configmaps"}, stored, false},
	} {
		if got := sensitiveType(tc.names, cred, tc.t); got != tc.want {
			t.Errorf("sensitiveType(%v, stored path known: %v) = %v, want %v", tc.names, tc.t != nil, got, tc.want)
		}
	}
}
