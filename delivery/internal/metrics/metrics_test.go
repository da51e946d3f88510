package metrics

import (
	"slices"
	"testing"
)

// TestNamesAndLabels pins the names and labels dashboards and alert rules rely on: the
// integration guide's two metrics exactly, and the migration's.
func TestNamesAndLabels(t *testing.T) {
	m := New()
	mm := m.NewMigration()
	m.AgentRequestDuration.WithLabelValues("INTAKE").Observe(0.1)
	m.AgentRequestCount.WithLabelValues("INTAKE", "success").Inc()
	mm.ArmRequests.WithLabelValues("candidate", "error").Inc()
	mm.ArmDuration.WithLabelValues("candidate").Observe(0.2)
	mm.ShadowComparisons.WithLabelValues("agree").Inc()
	mm.ShadowDifferences.WithLabelValues("text").Inc()
	mm.ShadowDuration.WithLabelValues("candidate").Observe(0.3)
	mm.Fallbacks.WithLabelValues("responder").Inc()
	mm.DailyPrompts.WithLabelValues("primary").Inc()
	mm.Answers.WithLabelValues("primary", "done").Inc()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string][]string{}
	for _, f := range families {
		var names []string
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				if !slices.Contains(names, l.GetName()) {
					names = append(names, l.GetName())
				}
			}
		}
		slices.Sort(names)
		labels[f.GetName()] = names
	}
	for name, want := range map[string][]string{
		"promptpipe_agent_request_duration_seconds":   {"state"},
		"promptpipe_agent_request_total":              {"state", "status"},
		"delivery_agent_arm_requests_total":           {"arm", "status"},
		"delivery_agent_arm_request_duration_seconds": {"arm"},
		"delivery_agent_fallbacks_total":              {"fallback"},
		"delivery_shadow_comparisons_total":           {"outcome"},
		"delivery_shadow_differences_total":           {"kind"},
		"delivery_shadow_request_duration_seconds":    {"arm"},
		"delivery_shadow_text_similarity":             nil,
		"delivery_rollout_percent":                    nil,
		"delivery_rollout_halted":                     nil,
		"delivery_shadow_enabled":                     nil,
		"delivery_daily_prompts_total":                {"arm"},
		"delivery_participant_answers_total":          {"answer", "arm"},
	} {
		got, found := labels[name]
		if !found || !slices.Equal(got, want) {
			t.Errorf("%s: labels %v (found %v), want %v", name, got, found, want)
		}
	}
}
