package gitstore

import (
	"testing"
	"time"
)

// The window of the wait after the round-th lost race doubles from
// raceWait each round and stops at maxRaceWait.
func TestRaceWindowDoublesUpToItsCap(t *testing.T) {
	for _, first := range []time.Duration{time.Millisecond, 50 * time.Millisecond, 3 * time.Second} {
		rm := &remote{raceWait: first, maxRounds: 10}
		race := rm.raceBackoff()
		for round := 1; round < rm.maxRounds; round++ {
			want := min(first<<(round-1), maxRaceWait)
			if got := race.Step(); got != want {
				t.Errorf("raceWait %s, round %d: window %s, want %s", first, round, got, want)
			}
		}
	}
}
