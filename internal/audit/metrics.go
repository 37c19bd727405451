package audit

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a request is refused, the values of
// kubesnap_audit_refused_total's reason label.
const (
	reasonNoCredentials  = "no_credentials"
	reasonBadToken       = "bad_token"
	reasonBadCertificate = "bad_certificate"
	reasonBadRequest     = "bad_request"
	reasonTooLarge       = "too_large"
)

type metrics struct {
	refused *prometheus.CounterVec
	events  prometheus.Counter
	held    prometheus.Gauge
	matches *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kubesnap_audit_refused_total", Help: "Requests to the audit webhook refused, by reason; nothing of them is kept."}, []string{"reason"}),
		events:  prometheus.NewCounter(prometheus.CounterOpts{Name: "kubesnap_audit_events_total", Help: "Audit events accepted and kept: completed, successful writes."}),
		held:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "kubesnap_audit_events_held", Help: "Audit events held for matching, bounded in age and number."}),
		matches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kubesnap_audit_matches_total", Help: "Changes looked up in the audit events, by result: exact (by resourceVersion), approximate (by verb and time), none."}, []string{"result"}),
	}
	for _, r := range []string{reasonNoCredentials, reasonBadToken, reasonBadCertificate, reasonBadRequest, reasonTooLarge} {
		m.refused.WithLabelValues(r)
	}
	for _, r := range []string{"exact", "approximate", "none"} {
		m.matches.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.refused, m.events, m.held, m.matches} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, errors.New("audit metrics are already registered: one receiver per registry")
			}
			return nil, err
		}
	}
	return m, nil
}
