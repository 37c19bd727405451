package gitstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	snapsync "github.com/kubesnap/kubesnap/sync"
)

// logEntries collects what Log lists.
func logEntries(t *testing.T, r *Repo, opts LogOptions) []Entry {
	t.Helper()
	var out []Entry
	if err := r.Log(opts, func(e Entry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// logStep is one commit of fleetHistory: a cluster's changes.
type logStep struct {
	cluster string
	changes []snapsync.Change
}

var logT0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// fleetHistory writes two clusters, under clusters/a and clusters/b of one
// bare repository, one commit an hour from logT0. With trailers the
// messages are kubesnap's (Kubesnap-Changed, Kubesnap-Path); without,
// they are a subject line alone, as an older kubesnap or a person wrote
// them, and Log reads the trees.
func fleetHistory(t *testing.T, trailers bool) string {
	t.Helper()
	del := func(p string) snapsync.Change { return snapsync.Change{Op: snapsync.Deleted, Path: p} }
	mod := func(p, data string) snapsync.Change {
		return snapsync.Change{Op: snapsync.Modified, Path: p, Data: []byte(data)}
	}
	steps := []logStep{
		{"a", []snapsync.Change{add(".kubesnap/coverage.txt", "1\n"), add("namespaces/x/configmaps/one.yaml", "1\n"), add("namespaces/x/configmaps/two.yaml", "2\n")}},
		{"b", []snapsync.Change{add(".kubesnap/coverage.txt", "1\n"), add("namespaces/y/configmaps/one.yaml", "1\n"), add("namespaces/y/configmaps/two.yaml", "2\n")}},
		{"a", []snapsync.Change{mod("namespaces/x/configmaps/one.yaml", "1b\n")}},
		{"b", []snapsync.Change{del("namespaces/y/configmaps/two.yaml")}},
		{"a", []snapsync.Change{mod(".kubesnap/coverage.txt", "2\n")}},
		{"a", []snapsync.Change{mod("namespaces/x/configmaps/one.yaml", "1c\n"), del("namespaces/x/configmaps/two.yaml")}},
	}
	dir := t.TempDir()
	repos := map[string]*Repo{}
	for i, s := range steps {
		r := repos[s.cluster]
		if r == nil {
			r = open(t, dir, Options{Prefix: "clusters/" + s.cluster, Bare: true})
			repos[s.cluster] = r
		}
		r.now = func() time.Time { return logT0.Add(time.Duration(i) * time.Hour) }
		msg := fmt.Sprintf("step %d in %s\n", i, s.cluster)
		if trailers {
			n := 0
			for _, c := range s.changes {
				if c.Path[0] != '.' {
					n++
				}
			}
			msg = fmt.Sprintf("step %d in %s\n\n%s", i, s.cluster, snapsync.Trailers{Changed: &n, Path: r.Prefix()})
		}
		if _, err := r.Commit(t.Context(), s.changes, msg); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// listing is "summary count" per entry.
func listing(entries []Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, fmt.Sprintf("%s %d", e.Summary, e.Changed))
	}
	return out
}

func TestLogReadsTrailersAndFallsBackToTrees(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		opts   LogOptions
		want   []string
	}{
		{"every commit", "", LogOptions{}, []string{"step 5 in a 2", "step 4 in a 0", "step 3 in b 1", "step 2 in a 1", "step 1 in b 2", "step 0 in a 2"}},
		{"one cluster's", "clusters/a", LogOptions{}, []string{"step 5 in a 2", "step 4 in a 0", "step 2 in a 1", "step 0 in a 2"}},
		{"the other's", "clusters/b", LogOptions{}, []string{"step 3 in b 1", "step 1 in b 2"}},
		{"a folder holding both", "clusters", LogOptions{}, []string{"step 5 in a 2", "step 4 in a 0", "step 3 in b 1", "step 2 in a 1", "step 1 in b 2", "step 0 in a 2"}},
		{"a folder nobody writes", "clusters/c", LogOptions{}, nil},
		{"a page", "", LogOptions{Limit: 2}, []string{"step 5 in a 2", "step 4 in a 0"}},
		{"a page of one cluster", "clusters/b", LogOptions{Limit: 1}, []string{"step 3 in b 1"}},
		{"since and until, inclusive", "", LogOptions{Since: logT0.Add(2 * time.Hour), Until: logT0.Add(4 * time.Hour)}, []string{"step 4 in a 0", "step 3 in b 1", "step 2 in a 1"}},
		{"since, in one cluster", "clusters/a", LogOptions{Since: logT0.Add(3 * time.Hour)}, []string{"step 5 in a 2", "step 4 in a 0"}},
		{"until, with a limit", "clusters/a", LogOptions{Until: logT0.Add(4 * time.Hour), Limit: 2}, []string{"step 4 in a 0", "step 2 in a 1"}},
		{"since after the newest", "", LogOptions{Since: logT0.Add(9 * time.Hour)}, nil},
	}
	for _, trailers := range []bool{true, false} {
		dir := fleetHistory(t, trailers)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s, trailers %v", tt.name, trailers), func(t *testing.T) {
				r := open(t, dir, Options{Prefix: tt.prefix, Branch: "main", ReadOnly: true})
				if diff := cmp.Diff(tt.want, listing(logEntries(t, r, tt.opts))); diff != "" {
					t.Errorf("Log (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestLogTakesTheCountFromTheTrailer(t *testing.T) {
	dir := t.TempDir()
	r := open(t, dir, Options{})
	// The trailer is trusted: a count the trees do not match shows that
	// Log did not diff them.
	if _, err := r.Commit(t.Context(), []snapsync.Change{add("namespaces/x/configmaps/one.yaml", "1\n")}, "by kubesnap\n\nKubesnap-Objects: 1\nKubesnap-Changed: 7\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Commit(t.Context(), []snapsync.Change{add("namespaces/x/configmaps/two.yaml", "2\n")}, "by hand\n\nKubesnap-Changed: many\n"); err != nil {
		t.Fatal(err)
	}
	want := []string{"by hand 1", "by kubesnap 7"}
	if diff := cmp.Diff(want, listing(logEntries(t, r, LogOptions{}))); diff != "" {
		t.Errorf("Log (-want +got):\n%s", diff)
	}
}

func TestLogStopsWhenTheCallerDoes(t *testing.T) {
	dir := fleetHistory(t, true)
	r := open(t, dir, Options{Branch: "main", ReadOnly: true})
	stop := fmt.Errorf("stop")
	n := 0
	err := r.Log(LogOptions{}, func(Entry) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("Log went on after fn failed: %v, %d calls", err, n)
	}
}
