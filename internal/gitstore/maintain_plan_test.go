package gitstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRollUp(t *testing.T) {
	p := func(counts ...int) []packFile {
		var ps []packFile
		for i, c := range counts {
			ps = append(ps, packFile{name: string(rune('a' + i)), count: c})
		}
		return ps
	}
	names := func(ps []packFile) []string {
		var n []string
		for _, x := range ps {
			n = append(n, x.name)
		}
		return n
	}
	cases := []struct {
		name  string
		packs []packFile
		loose int
		want  []string
	}{
		{"packs already geometric and nothing loose are left alone", p(1, 10, 100), 0, nil},
		{"loose objects alone make a pack of their own", p(1000), 6, nil},
		{"loose objects roll up the small packs they outgrow", p(4, 10, 1000), 6, []string{"a", "b"}},
		{"a pack too close to the next smaller one rolls up everything below it", p(50, 60, 1000), 10, []string{"a", "b"}},
		{"one lone pack out of order is not rewritten alone", p(30, 1000), 0, nil},
		{"two equal packs roll up together", p(100, 100), 0, []string{"a", "b"}},
		{"the big old pack stays when the small ones stay small against it", p(10, 12, 13, 100000), 300, []string{"a", "b", "c"}},
		{"no packs", nil, 5, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := names(rollUp(c.packs, c.loose))
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("rollUp(-want +got):\n%s", diff)
			}
		})
	}
}
