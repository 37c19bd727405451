package gitstore

import "slices"

// geometricFactor is how many times more objects each pack must hold
// than the next smaller one for the packs to be left as they are.
const geometricFactor = 2

// rollUp chooses the packs to gather with loose objects into one new
// pack, so that the packs left and the new one form a geometric
// progression: sorted by size, each holds at least geometricFactor times
// the objects of the one before. It takes the fewest packs, always the
// smallest: the big old packs are never rewritten while they stay big
// against the rest, so one maintenance costs what is new, not the whole
// history.
//
//	sort packs by objects, smallest first
//	split := the largest i with packs[i] < factor × packs[i-1], else 0:
//	    every pack below split breaks the progression, so rolls up
//	total := loose + objects of packs[:split]
//	while packs[split] < factor × total: total += packs[split]; split++
//	    (the new pack must itself stay below the next by the factor)
//	roll up packs[:split]
func rollUp(packs []packFile, loose int) []packFile {
	packs = slices.Clone(packs)
	slices.SortFunc(packs, func(a, b packFile) int { return a.count - b.count })
	split := 0
	for i := len(packs) - 1; i > 0; i-- {
		if packs[i].count < geometricFactor*packs[i-1].count {
			split = i
			break
		}
	}
	total := loose
	for _, p := range packs[:split] {
		total += p.count
	}
	for split < len(packs) && packs[split].count < geometricFactor*total {
		total += packs[split].count
		split++
	}
	if split == 1 && loose == 0 {
		return nil // rewriting one pack alone gains nothing
	}
	return packs[:split]
}
