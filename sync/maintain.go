package sync

import "context"

// Maintainer is a Store that gathers what its commits leave behind
// (loose objects, small packs) into fewer, larger packs. The watcher
// asserts it optionally, as it does Prefixed.
type Maintainer interface {
	// PrepareMaintenance does the slow part of one maintenance (writing
	// the new pack) and is safe to run while the store commits and
	// reads. The finish it returns (nil when there was nothing to do, or
	// another maintainer was at work) must be called where the store is
	// used, between its commits: it is quick, and swaps the new pack in.
	// It may be called again while an earlier one is being prepared or
	// awaits its finish: the store then does only what is safe beside
	// it (gitstore: a pack of the loose objects that came since), or
	// nothing.
	PrepareMaintenance(ctx context.Context) (finish func() (MaintainResult, error), err error)
}

// MaintainResult is what one maintenance did.
type MaintainResult struct {
	// Skipped says why nothing was done ("" when something was).
	Skipped string `json:"skipped,omitempty"`
	// LoosePacked counts the loose objects gathered into the new pack,
	// and PacksRolled the packs it replaced.
	LoosePacked int `json:"loosePacked"`
	PacksRolled int `json:"packsRolled"`
	// PacksBefore and PacksAfter count the packs in use, not counting
	// the replaced ones still kept for readers (PacksWaiting).
	PacksBefore  int `json:"packsBefore"`
	PacksAfter   int `json:"packsAfter"`
	PacksWaiting int `json:"packsWaiting"`
	// PacksRemoved counts the replaced packs removed now, their grace
	// period over.
	PacksRemoved int `json:"packsRemoved"`
	// SizeBefore and SizeAfter are the bytes under the objects folder.
	SizeBefore int64 `json:"sizeBefore"`
	SizeAfter  int64 `json:"sizeAfter"`
}
