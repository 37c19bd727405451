package canonical

import (
	"strings"
	"testing"

	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// TestIgnoredFindsListItemsByKey: a rule that removes a whole list item
// before another removes a field of a later item must not shift which
// owned fields are found ignored.
func TestIgnoredFindsListItemsByKey(t *testing.T) {
	live, err := Parse([]byte(`apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: hooks
  labels: {team: web}
webhooks:
  - name: a.example.com
    clientConfig: {caBundle: YQ==, url: "https://a"}
  - name: b.example.com
    clientConfig: {caBundle: Yg==, url: "https://b"}
`))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := ParseRules([]byte(`
- match: {kind: ValidatingWebhookConfiguration}
  ignoreFields: ["webhooks[0]"]
- match: {kind: ValidatingWebhookConfiguration}
  ignoreFields: ["webhooks[*].clientConfig.caBundle"]
`))
	if err != nil {
		t.Fatal(err)
	}
	owned := &fieldpath.Set{}
	if err := owned.FromJSON(strings.NewReader(`{"f:metadata":{"f:labels":{"f:team":{}}},"f:webhooks":{
		"k:{\"name\":\"a.example.com\"}":{".":{},"f:name":{},"f:clientConfig":{"f:url":{}}},
		"k:{\"name\":\"b.example.com\"}":{".":{},"f:name":{},"f:clientConfig":{"f:caBundle":{},"f:url":{}}}}}`)); err != nil {
		t.Fatal(err)
	}
	got, err := rules.Ignored(live, owned).ToJSON()
	if err != nil {
		t.Fatal(err)
	}
	// Item a goes whole; b keeps its url and loses its caBundle.
	want := `{"f:webhooks":{"k:{\"name\":\"a.example.com\"}":{".":{},"f:clientConfig":{"f:url":{}},"f:name":{}},"k:{\"name\":\"b.example.com\"}":{"f:clientConfig":{"f:caBundle":{}}}}}`
	if string(got) != want {
		t.Errorf("ignored:\n got %s\nwant %s", got, want)
	}
	// A rule selecting only another object (by label) removes nothing
	// here, unless the pair's rules are taken (Matching).
	narrow, err := ParseRules([]byte("- match: {labelSelector: team=api}\n  ignoreFields: [webhooks]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := narrow.Ignored(live, owned); !got.Empty() {
		t.Errorf("a rule for other labels ignored %v", got)
	}
	other := live.DeepCopy()
	other.SetLabels(map[string]string{"team": "api"})
	if got := narrow.Matching(live, other).Ignored(live, owned); got.Empty() {
		t.Error("the rule selecting the revision's side was not applied to the live side")
	}
}
