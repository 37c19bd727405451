package main

import (
	"time"

	snapsync "github.com/kubesnap/kubesnap/sync"
	"github.com/prometheus/client_golang/prometheus"
)

var _ snapsync.MaintainObserver = (*metrics)(nil)

// maintainMetrics count the repository maintenances the watcher runs.
type maintainMetrics struct {
	runs, failures, loosePacked prometheus.Counter
	seconds                     prometheus.Gauge
}

// registerMaintain adds the maintenance metrics to the registry.
func (m *metrics) registerMaintain() {
	m.maint.runs = prometheus.NewCounter(prometheus.CounterOpts{Name: "kubesnap_maintenances_total", Help: "Repository maintenances that gathered objects into a new pack."})
	m.maint.failures = prometheus.NewCounter(prometheus.CounterOpts{Name: "kubesnap_maintenance_failures_total", Help: "Repository maintenances that failed (the watcher goes on; the next one tries again)."})
	m.maint.loosePacked = prometheus.NewCounter(prometheus.CounterOpts{Name: "kubesnap_maintenance_loose_objects_packed_total", Help: "Loose objects gathered into packs."})
	m.maint.seconds = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubesnap_last_maintenance_seconds", Help: "How long the last maintenance took, start to finish (commits go on meanwhile)."})
	m.reg.MustRegister(m.maint.runs, m.maint.failures, m.maint.loosePacked, m.maint.seconds)
}

func (m *metrics) Maintained(res snapsync.MaintainResult, took time.Duration) {
	m.maint.runs.Inc()
	m.maint.loosePacked.Add(float64(res.LoosePacked))
	m.maint.seconds.Set(took.Seconds())
}

func (m *metrics) MaintainFailed(error) { m.maint.failures.Inc() }
