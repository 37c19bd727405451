package canonical

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// seed adds every golden live object to the corpus.
func seed(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/live.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: 'yes', b: '0x1F', c: '1_000', d: '12:30', e: '1e3', f: ' lead', g: \"t\\t\"}\n"))
	f.Add([]byte(`{"kind":"Widget","apiVersion":"x/v1","metadata":{"name":"n"},"spec":{"f":1.5,"g":1e300,"h":-9223372036854775808,"i":[],"j":{},"k":null}}`))
}

func FuzzNormalizeIdempotent(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := Parse(data)
		if err != nil {
			return
		}
		Normalize(obj, Facts{})
		once, err := Marshal(obj)
		if err != nil {
			return
		}
		again, err := Parse(once)
		if err != nil {
			t.Fatalf("canonical YAML does not parse: %v\n%s", err, once)
		}
		Normalize(again, Facts{})
		twice, err := Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("Normalize is not idempotent:\n%s\n---\n%s", once, twice)
		}
	})
}

func FuzzMarshalRoundTrip(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := Parse(data)
		if err != nil {
			return
		}
		first, err := Marshal(obj)
		if err != nil {
			return // e.g. a value JSON cannot hold
		}
		same, err := Marshal(obj)
		if err != nil || !bytes.Equal(first, same) {
			t.Fatalf("Marshal is not deterministic: %v\n%s\n---\n%s", err, first, same)
		}
		back, err := Parse(first)
		if err != nil {
			t.Fatalf("Marshal's output does not parse: %v\n%s", err, first)
		}
		second, err := Marshal(back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("Marshal → Parse → Marshal changed the bytes:\n%s\n---\n%s", first, second)
		}
	})
}
