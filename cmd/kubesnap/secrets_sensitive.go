package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kubesnap/kubesnap/canonical"
	"github.com/kubesnap/kubesnap/internal/kube"
	snapsync "github.com/kubesnap/kubesnap/sync"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// resolve checks every name of --sensitive-resources against the types the
// server serves and leaves them in s in the <resource>.<group> form the
// syncer compares with. A name no served type answers to would leave that
// type's values in plain text: it stops the command (exit 2).
func (f *secretFlags) resolve(ctx context.Context, s *snapsync.Secrets, cluster *kube.Cluster) error {
	if len(s.Sensitive) == 0 {
		return nil
	}
	disc, err := cluster.Discover(ctx)
	if err != nil {
		return err
	}
	s.Sensitive, err = resolveSensitive(s.Sensitive, disc, f.sensitiveFlag())
	return err
}

// resolveSensitive returns names in the <resource>.<group> form: each is a
// type's resource in that form, or a short form (the resource alone, or
// the kind) that names exactly one served type. A name in the full form
// whose group's discovery failed (an unavailable APIService) is kept as
// given: it may be served again later, and must be hidden then.
func resolveSensitive(names []string, disc snapsync.Discovery, flag string) ([]string, error) {
	failed := map[string]bool{}
	for gv := range disc.FailedGroups {
		if g, err := schema.ParseGroupVersion(gv); err == nil {
			failed[g.Group] = true
		}
	}
	var out []string
	for _, name := range names {
		var exact bool
		var short []string
		for _, t := range disc.Types {
			switch {
			case t.ResourceDir() == name:
				exact = true
			case t.Resource == name || strings.EqualFold(t.Kind, name):
				short = append(short, t.ResourceDir())
			}
		}
		_, group, full := strings.Cut(name, ".")
		switch {
		case exact:
			out = append(out, name)
		case len(short) == 1:
			out = append(out, short[0])
		case len(short) > 1:
			sort.Strings(short)
			return nil, usageError{fmt.Errorf("%s: %q could mean %s; write one of them", flag, name, strings.Join(short, " or "))}
		case full && failed[group]:
			out = append(out, name)
		default:
			msg := fmt.Sprintf("%s: %q is not a type this server serves", flag, name)
			if like := typesLike(name, disc.Types); len(like) > 0 {
				msg += "; did you mean " + strings.Join(like, " or ") + "?"
			} else {
				msg += "; kubectl api-resources lists the types it serves (write NAME.GROUP, e.g. credentials.example.com)"
			}
			return nil, usageError{errors.New(msg)}
		}
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// typesLike returns up to 5 served types a mistyped name could mean: the
// same resource in another group, a singular or plural of one, or one a
// couple of letters away.
func typesLike(name string, types []canonical.Type) []string {
	resource, _, _ := strings.Cut(name, ".")
	var out []string
	for _, t := range types {
		r := t.Resource
		if r == resource || len(resource) >= 3 && (strings.HasPrefix(r, resource) || strings.HasPrefix(resource, r)) ||
			editDistance(resource, r) <= 2 || editDistance(name, t.ResourceDir()) <= 2 {
			out = append(out, t.ResourceDir())
		}
	}
	sort.Strings(out)
	out = slices.Compact(out)
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
