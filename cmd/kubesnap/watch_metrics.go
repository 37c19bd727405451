package main

import (
	"fmt"
	"net/http"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the watcher's Prometheus metrics and health.
type metrics struct {
	reg                           *prometheus.Registry
	lastCommit, lastPush, pending prometheus.Gauge
	commits, commitFailures       prometheus.Counter
	pushFailures                  prometheus.Counter
	objects                       *prometheus.GaugeVec
	watchRestarts                 *prometheus.CounterVec
	maint                         maintainMetrics // watch_metrics_maintain.go
	ready, standby                atomic.Bool

	// Readiness goes once the API server has been out of reach for
	// apiThreshold, or pushes have failed for pushThreshold (0: never).
	apiThreshold, pushThreshold time.Duration
	now                         func() time.Time
	mu                          gosync.Mutex
	pushFailing, apiLost        failing
}

// failing is a run of failures: since when (zero: none), and the latest.
type failing struct {
	since time.Time
	err   error
}

// seconds is how long the run has lasted.
func (f failing) seconds(now time.Time) float64 {
	if f.since.IsZero() {
		return 0
	}
	return now.Sub(f.since).Seconds()
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), now: time.Now}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.lastCommit = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubesnap_last_commit_timestamp_seconds", Help: "Time of the last successful commit."})
	m.lastPush = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubesnap_last_push_timestamp_seconds", Help: "Time of the last successful push."})
	m.pending = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubesnap_pending_changes", Help: "Changed files waiting for the next commit."})
	m.commits = prometheus.NewCounter(prometheus.CounterOpts{Name: "kubesnap_commits_total", Help: "Commits made."})
	m.commitFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "kubesnap_commit_failures_total", Help: "Commits that failed (retried)."})
	m.pushFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "kubesnap_push_failures_total", Help: "Pushes that failed (retried)."})
	m.objects = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kubesnap_objects", Help: "Objects captured, per resource."}, []string{"resource"})
	m.watchRestarts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kubesnap_watch_restarts_total", Help: "Watches restarted after an error, per resource."}, []string{"resource"})
	pushFailing := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kubesnap_push_failing_seconds", Help: "How long pushes have been failing; 0 when the last push went through."}, func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.pushFailing.seconds(m.now())
	})
	apiLost := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kubesnap_apiserver_unreachable_seconds", Help: "How long the API server has not answered; 0 when it answers."}, func() float64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.apiLost.seconds(m.now())
	})
	ready := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kubesnap_ready", Help: "1 when /readyz answers ok (watching, or standing by for the leader Lease), 0 when it does not."}, func() float64 {
		if ok, _ := m.readiness(); ok {
			return 1
		}
		return 0
	})
	leading := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kubesnap_leader", Help: "1 while this replica watches and commits (it leads, or runs without leader election), 0 while it stands by."}, func() float64 {
		if m.standby.Load() {
			return 0
		}
		return 1
	})
	for _, c := range []prometheus.Collector{m.lastCommit, m.lastPush, m.pending, m.commits, m.commitFailures, m.pushFailures, m.objects, m.watchRestarts, pushFailing, apiLost, ready, leading} {
		f(c)
	}
	m.registerMaintain()
	return m
}

func (m *metrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, msg := m.readiness()
		if !ok {
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, msg)
	})
	return mux
}

// readiness is what /readyz answers, and kubesnap_ready reports.
func (m *metrics) readiness() (bool, string) {
	switch {
	case m.ready.Load():
		if why := m.unready(); why != "" {
			return false, why
		}
		return true, "ok"
	case m.standby.Load():
		return true, "ok: standing by for the leader Lease"
	default:
		return false, "capturing the cluster"
	}
}

// unready says why a watching watcher is not ready; "" when it is.
func (m *metrics) unready() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var why []string
	if f := m.apiLost; !f.since.IsZero() && now.Sub(f.since) > m.apiThreshold {
		why = append(why, fmt.Sprintf("cannot reach the API server for %s: %v", now.Sub(f.since).Round(time.Second), f.err))
	}
	if f := m.pushFailing; m.pushThreshold > 0 && !f.since.IsZero() && now.Sub(f.since) > m.pushThreshold {
		why = append(why, fmt.Sprintf("pushes failing for %s: %v", now.Sub(f.since).Round(time.Second), f.err))
	}
	return strings.Join(why, "; ")
}

func (m *metrics) Ready() { m.ready.Store(true) }
func (m *metrics) Committed(at time.Time, _ int) {
	m.commits.Inc()
	m.lastCommit.Set(float64(at.Unix()))
}
func (m *metrics) CommitFailed(error) { m.commitFailures.Inc() }
func (m *metrics) Pushed(at time.Time) {
	m.lastPush.Set(float64(at.Unix()))
	m.mu.Lock()
	m.pushFailing = failing{}
	m.mu.Unlock()
}
func (m *metrics) PushFailed(err error) {
	m.pushFailures.Inc()
	m.mu.Lock()
	if m.pushFailing.since.IsZero() {
		m.pushFailing.since = m.now()
	}
	m.pushFailing.err = err
	m.mu.Unlock()
}
func (m *metrics) APIServerLost(since time.Time, err error) {
	m.mu.Lock()
	m.apiLost = failing{since: since, err: err}
	m.mu.Unlock()
}
func (m *metrics) APIServerBack() {
	m.mu.Lock()
	m.apiLost = failing{}
	m.mu.Unlock()
}
func (m *metrics) Pending(n int)           { m.pending.Set(float64(n)) }
func (m *metrics) WatchRestarted(r string) { m.watchRestarts.WithLabelValues(r).Inc() }
func (m *metrics) Captured(objects map[string]int) {
	for r, n := range objects {
		m.objects.WithLabelValues(r).Set(float64(n))
		// Each watched type's restart count starts at 0, so that
		// rate() and increase() see its first restart.
		m.watchRestarts.WithLabelValues(r)
	}
}
