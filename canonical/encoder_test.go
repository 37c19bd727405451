package canonical

import (
	"bytes"
	"strconv"
	"strings"
	gosync "sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestEncoderSharedByGoroutinesWritesYAMLv3Bytes: one Encoder, used by
// several goroutines at once and again once its cache is warm, writes what
// yaml.v3 writes.
func TestEncoderSharedByGoroutinesWritesYAMLv3Bytes(t *testing.T) {
	var objs []*unstructured.Unstructured
	for _, s := range awkward {
		objs = append(objs, &unstructured.Unstructured{Object: shapes(s)},
			&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", s: "v", "m": map[string]any{s: []any{s}}}})
	}
	for _, v := range []any{1.5, -0.25, 1e-7, 1e300, 3.0, 1e21} {
		objs = append(objs, &unstructured.Unstructured{Object: shapes(v)})
	}
	want := make([][]byte, len(objs))
	for i, o := range objs {
		want[i], _ = marshalYAMLv3(o)
	}
	var enc Encoder
	for round := range 2 { // a cold cache, then a warm one
		var wg gosync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range objs {
					o := objs[(i+g*len(objs)/4)%len(objs)]
					got, err := enc.Marshal(o)
					if w := want[(i+g*len(objs)/4)%len(objs)]; err != nil || !bytes.Equal(got, w) {
						t.Errorf("round %d: Encoder.Marshal = %q, %v; yaml.v3 writes %q", round, got, err, w)
					}
				}
			})
		}
		wg.Wait()
	}
	if enc.numRenders.Load() == 0 {
		t.Errorf("the Encoder cached nothing")
	}
}

// TestEncoderCacheIsBounded: the cache stops growing at maxRenders
// entries and keeps no value longer than 128 bytes, yet every value is
// still written right.
func TestEncoderCacheIsBounded(t *testing.T) {
	var enc Encoder
	long := strings.Repeat("9", 129)
	for i := range maxRenders + 100 {
		v := strconv.Itoa(i) + " x" // starts with a digit: rendered by yaml.v3
		got, err := enc.Marshal(&unstructured.Unstructured{Object: map[string]any{"v": v, "w": long}})
		if want := "v: " + v + "\nw: \"" + long + "\"\n"; err != nil || string(got) != want {
			t.Fatalf("Marshal = %q, %v; want %q", got, err, want)
		}
	}
	if n := enc.numRenders.Load(); n != maxRenders {
		t.Errorf("%d renderings cached, want %d", n, maxRenders)
	}
	if _, ok := enc.renders.Load(renderKey{tag: "!!str", value: long}); ok {
		t.Errorf("a value longer than 128 bytes was cached")
	}
}
