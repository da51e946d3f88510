// Package metrics defines delivery's Prometheus metrics in one place.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds every collector delivery updates. Labels never carry phone numbers or ids.
type Metrics struct {
	Registry *prometheus.Registry

	// The two metrics the integration guide names, kept under its names.
	AgentRequestDuration *prometheus.HistogramVec
	AgentRequestCount    *prometheus.CounterVec

	AgentRetries     prometheus.Counter
	WebhooksReceived *prometheus.CounterVec
	InboundProcessed *prometheus.CounterVec
	OutboxSends      *prometheus.CounterVec
	JobsFired        *prometheus.CounterVec
	ReadReceipts     *prometheus.CounterVec
	DeadLetters      *prometheus.CounterVec
	Replays          *prometheus.CounterVec
}

// New creates the collectors and registers them, with the Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		AgentRequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "promptpipe_agent_request_duration_seconds",
			Help:    "Duration of Python agent requests.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"state"}),
		AgentRequestCount: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "promptpipe_agent_request_total",
			Help: "Total number of agent requests.",
		}, []string{"state", "status"}),
		AgentRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "delivery_agent_retries_total",
			Help: "Agent requests retried after a failed attempt.",
		}),
		WebhooksReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_webhooks_received_total",
			Help: "WhatsApp webhooks received, by result.",
		}, []string{"result"}),
		InboundProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_inbound_processed_total",
			Help: "Inbound messages processed, by how they were answered.",
		}, []string{"route"}),
		OutboxSends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_outbox_sends_total",
			Help: "Outbox send attempts to WhatsApp, by result.",
		}, []string{"result"}),
		JobsFired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_jobs_total",
			Help: "Scheduled jobs handled, by kind and result.",
		}, []string{"kind", "result"}),
		ReadReceipts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_read_receipts_total",
			Help: "Read receipts with the typing indicator sent to WhatsApp, by result (ok, failed).",
		}, []string{"result"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_dead_letters_total",
			Help: "Webhook messages and statuses that can never be stored, set aside instead, by reason.",
		}, []string{"reason"}),
		Replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_replays_total",
			Help: "Messages answered with the apology and kept for the agent: handed (the agent has had one since), " +
				"late_reply (its late answer was sent), withheld (not sent: the participant had written since, or it was too late).",
		}, []string{"result"}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.AgentRequestDuration, m.AgentRequestCount, m.AgentRetries,
		m.WebhooksReceived, m.InboundProcessed, m.OutboxSends, m.JobsFired, m.ReadReceipts, m.DeadLetters, m.Replays,
	)
	return m
}
