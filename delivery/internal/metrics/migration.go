package metrics

import "github.com/prometheus/client_golang/prometheus"

// Migration holds the metrics of the agent arms (package arms), the shadow comparisons
// (package shadow) and the rollout (package rollout). docs/monitoring.md defines each.
type Migration struct {
	// ArmRequests counts turns by the arm that was asked to serve them and how it went
	// (success, error), after delivery's retries: one count per turn, not per attempt.
	ArmRequests *prometheus.CounterVec
	// ArmDuration is a turn's time at its arm, retries included: what the participant waits.
	ArmDuration *prometheus.HistogramVec
	// Fallbacks counts turns answered by delivery itself because the arm failed, by how
	// (responder, apology).
	Fallbacks *prometheus.CounterVec
	// ShadowComparisons counts shadow turns compared, by outcome: agree, differ (a
	// difference beyond the primary's own noise), error (the candidate failed), skipped.
	ShadowComparisons *prometheus.CounterVec
	// ShadowDifferences counts the kinds of difference found (text, buttons, ...).
	ShadowDifferences *prometheus.CounterVec
	// ShadowSimilarity is the reply text's similarity, 0 to 1, per compared turn.
	ShadowSimilarity prometheus.Histogram
	// ShadowDuration is a shadow call's time at the candidate (or the secondary).
	ShadowDuration *prometheus.HistogramVec
	// RolloutPercent is the share of participants the candidate serves now.
	RolloutPercent prometheus.Gauge
	// RolloutHalted is 1 while the last rollout stands halted by a breached threshold.
	RolloutHalted prometheus.Gauge
	// RolloutEvents counts the rollout's events by kind (started, step, halted, ...).
	RolloutEvents *prometheus.CounterVec
	// ShadowEnabled is 1 while the primary's turns are shadowed.
	ShadowEnabled prometheus.Gauge
	// DailyPrompts counts daily prompts sent, by the arm that wrote them; Answers counts
	// participants' messages by what they say (done, next_time, stop, other) and arm. The
	// user-satisfaction figures are their ratios (docs/monitoring.md).
	DailyPrompts *prometheus.CounterVec
	Answers      *prometheus.CounterVec
}

// NewMigration creates the migration's collectors and registers them on m's registry.
func (m *Metrics) NewMigration() *Migration {
	latency := prometheus.ExponentialBuckets(0.005, 2, 14)
	mm := &Migration{
		ArmRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_agent_arm_requests_total",
			Help: "Turns served by each agent arm (primary, candidate), by status (success, error), retries included.",
		}, []string{"arm", "status"}),
		ArmDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "delivery_agent_arm_request_duration_seconds",
			Help:    "Time a turn took at its agent arm, retries included.",
			Buckets: latency,
		}, []string{"arm"}),
		Fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_agent_fallbacks_total",
			Help: "Turns answered by delivery itself after the agent failed, by how (responder, apology).",
		}, []string{"fallback"}),
		ShadowComparisons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_shadow_comparisons_total",
			Help: "Shadow turns compared with the primary's, by outcome (agree, differ, error, skipped).",
		}, []string{"outcome"}),
		ShadowDifferences: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_shadow_differences_total",
			Help: "Differences between the candidate's and the primary's answers, by kind; noise excluded.",
		}, []string{"kind"}),
		ShadowSimilarity: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "delivery_shadow_text_similarity",
			Help:    "Similarity (0 to 1) of the candidate's normalized reply text to the primary's.",
			Buckets: []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1},
		}),
		ShadowDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "delivery_shadow_request_duration_seconds",
			Help:    "Time of a shadow call, by who answered it (candidate, secondary).",
			Buckets: latency,
		}, []string{"arm"}),
		RolloutPercent: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "delivery_rollout_percent",
			Help: "Share of participants (0-100) the candidate agent serves.",
		}),
		RolloutHalted: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "delivery_rollout_halted",
			Help: "1 while the last rollout stands halted (rolled back by a breached threshold).",
		}),
		RolloutEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_rollout_events_total",
			Help: "Rollout events by kind (started, step, halted, promoted, rolled_back, succeeded).",
		}, []string{"kind"}),
		ShadowEnabled: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "delivery_shadow_enabled",
			Help: "1 while the primary's turns are copied to the candidate in shadow.",
		}),
		DailyPrompts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_daily_prompts_total",
			Help: "Daily prompts sent to participants, by the arm that wrote them.",
		}, []string{"arm"}),
		Answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "delivery_participant_answers_total",
			Help: "Participants' messages by what they say (done, next_time, stop, other), by their arm.",
		}, []string{"arm", "answer"}),
	}
	m.Registry.MustRegister(mm.DailyPrompts, mm.Answers, mm.ArmRequests, mm.ArmDuration, mm.Fallbacks, mm.ShadowComparisons,
		mm.ShadowDifferences, mm.ShadowSimilarity, mm.ShadowDuration, mm.RolloutPercent, mm.RolloutHalted,
		mm.RolloutEvents, mm.ShadowEnabled)
	return mm
}
