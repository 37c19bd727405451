package sync

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule says when the next scheduled snapshot is due; a
// robfig/cron schedule is one (see ParseSchedule).
type Schedule interface {
	Next(time.Time) time.Time
}

// ParseSchedule reads a cron expression in robfig/cron's standard syntax:
// five fields ("0 3 * * *"), or a descriptor ("@daily", "@every 1h").
// Times are UTC.
func ParseSchedule(spec string) (Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w (use five cron fields like \"0 3 * * *\", or @hourly, @daily, @every 1h)", spec, err)
	}
	return s, nil
}
