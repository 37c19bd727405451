package sync

import "github.com/kubesnap/kubesnap/canonical"

// chooseTypes picks the types to capture from what the server serves: the
// default skip rules (unless the filter names a skipped type), then the
// filter. It returns the rest with the reason each was left out, and the
// facts Normalize needs.
func chooseTypes(disc Discovery, f canonical.Filter, s Secrets) (todo []canonical.Type, skipped []SkippedType, facts canonical.Facts) {
	for _, t := range disc.Types {
		if s.mode() == SecretsSkip && s.sensitive(t) {
			skipped = append(skipped, SkippedType{Resource: t.ResourceDir(), Reason: notStoredReason})
			continue
		}
		if reason, skip := canonical.SkipType(t); skip {
			if _, ok := canonical.Capturable(t); !ok || !f.Names(t) {
				skipped = append(skipped, SkippedType{Resource: t.ResourceDir(), Reason: reason})
				continue
			}
		}
		if !f.Type(t) {
			skipped = append(skipped, SkippedType{Resource: t.ResourceDir(), Reason: "excluded by filter"})
			continue
		}
		if t.Group == "" && t.Resource == "persistentvolumes" {
			facts.PersistentVolumesCaptured = true
		}
		todo = append(todo, t)
	}
	return todo, skipped, facts
}

// notStoredReason is the coverage's reason for sensitive types in the
// skip mode.
const notStoredReason = "not stored: secrets mode skip"
