package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"promptpipe/delivery/internal/arms"
	"promptpipe/delivery/internal/rollout"
	"promptpipe/delivery/internal/shadow"
)

// Migration is what the /dev/migration routes need: the arms, the shadow's comparisons
// and the rollout. docs/migration.md describes the routes.
type Migration struct {
	Rollout   *rollout.Controller
	Router    *arms.Router
	Stats     *arms.Stats
	Book      *shadow.Book
	Candidate bool // a candidate agent is configured (AGENT_CANDIDATE_URL)
	Secondary bool // the primary is asked twice in shadow
}

// migrationReport is GET /dev/migration.
type migrationReport struct {
	CandidateConfigured bool                       `json:"candidate_configured"`
	Rollout             rolloutView                `json:"rollout"`
	Arms                map[string]arms.Summary    `json:"arms"`
	Step                *stepView                  `json:"step,omitempty"`
	Shadow              shadowView                 `json:"shadow"`
	States              map[string]int             `json:"states"`
	Engagement          map[string]arms.Engagement `json:"engagement"`
	Participants        []participantArm           `json:"participants"`
	Events              any                        `json:"events"`
}

type rolloutView struct {
	rollout.State
	NextStepAt *time.Time `json:"next_step_at,omitempty"`
}

type stepView struct {
	Candidate arms.Summary     `json:"candidate"`
	Agreement shadow.Agreement `json:"agreement"`
}

type shadowView struct {
	Enabled   bool `json:"enabled"`
	Secondary bool `json:"secondary"`
	shadow.Report
}

type participantArm struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Bucket int    `json:"bucket"`
	Arm    string `json:"arm"`
}

// maxLatest bounds the comparisons the report lists.
const maxLatest = 20

func viewRollout(s rollout.State) rolloutView {
	v := rolloutView{State: s}
	if at := s.NextStepAt(); !at.IsZero() {
		v.NextStepAt = &at
	}
	return v
}

// handleMigration reports the migration: each arm's figures, the current step's, the
// shadow's agreement and differences, every participant's arm, the rollout's events.
func (s *Server) handleMigration(w http.ResponseWriter, r *http.Request) {
	m := s.Migration
	st := m.Rollout.State()
	report := migrationReport{
		CandidateConfigured: m.Candidate,
		Rollout:             viewRollout(st),
		Arms: map[string]arms.Summary{
			arms.Primary:   m.Stats.Summary(arms.Primary, time.Time{}),
			arms.Candidate: m.Stats.Summary(arms.Candidate, time.Time{}),
		},
		Shadow:     shadowView{Enabled: st.Shadow, Secondary: m.Secondary, Report: m.Book.Report(maxLatest)},
		States:     m.Stats.States(),
		Engagement: m.Stats.Engagement(),
	}
	if st.Status == rollout.Progressing {
		report.Step = &stepView{Candidate: m.Stats.Summary(arms.Candidate, st.StepStartedAt), Agreement: m.Book.Since(st.StepStartedAt)}
	}
	participants, err := s.Store.ListParticipants(r.Context())
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	report.Participants = make([]participantArm, 0, len(participants))
	for _, p := range participants {
		report.Participants = append(report.Participants,
			participantArm{ID: p.ID, Name: p.Name, Bucket: arms.Bucket(p.ID), Arm: m.Router.ArmOf(p.ID)})
	}
	events, err := s.Store.RolloutEvents(r.Context(), 50)
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	report.Events = events
	ok(w, http.StatusOK, "", report)
}

// needCandidate refuses what only makes sense with a candidate agent.
func (s *Server) needCandidate(w http.ResponseWriter) bool {
	if !s.Migration.Candidate {
		fail(w, http.StatusConflict, "No candidate agent is configured (AGENT_CANDIDATE_URL)")
		return false
	}
	return true
}

// handleStartRollout starts a progressive rollout: {"step", "interval", "max",
// "thresholds": {"error_rate", "p99_ms", "agreement", "min_requests", "min_compared"}};
// what is left out takes rollout.DefaultPlan's value.
func (s *Server) handleStartRollout(w http.ResponseWriter, r *http.Request) {
	if !s.needCandidate(w) {
		return
	}
	plan := rollout.DefaultPlan
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&plan); err != nil && !errors.Is(err, io.EOF) {
		fail(w, http.StatusBadRequest, "Invalid rollout: "+err.Error())
		return
	}
	if err := plan.Validate(); err != nil {
		fail(w, http.StatusBadRequest, "Invalid rollout: "+err.Error())
		return
	}
	st, err := s.Migration.Rollout.Start(r.Context(), plan)
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	ok(w, http.StatusOK, "Rollout started", viewRollout(st))
}

func (s *Server) handlePromote(w http.ResponseWriter, r *http.Request) {
	if !s.needCandidate(w) {
		return
	}
	st, err := s.Migration.Rollout.Promote(r.Context())
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	ok(w, http.StatusOK, "Candidate promoted to every participant", viewRollout(st))
}

// handleRollback puts everyone back on the primary; {"reason"} is optional.
func (s *Server) handleRollback(w http.ResponseWriter, r *http.Request) {
	var req map[string]any // an object: {"reason"} is optional, and a string when given
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req)
	if (err != nil && !errors.Is(err, io.EOF)) || (err == nil && req == nil) { // null is no object
		fail(w, http.StatusBadRequest, "Invalid JSON format")
		return
	}
	reason := "rolled back by hand"
	if given, found := req["reason"]; found {
		text, isString := given.(string)
		if !isString {
			fail(w, http.StatusBadRequest, "reason must be a string")
			return
		}
		if text != "" {
			reason = text
		}
	}
	st, err := s.Migration.Rollout.Rollback(r.Context(), reason)
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	ok(w, http.StatusOK, "Every participant is back on the primary", viewRollout(st))
}

// handleShadow switches shadow mode: {"enabled": true|false}.
func (s *Server) handleShadow(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Enabled *bool `json:"enabled"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Enabled == nil {
		fail(w, http.StatusBadRequest, "enabled (true or false) is required")
		return
	}
	if *req.Enabled && !s.needCandidate(w) {
		return
	}
	st, err := s.Migration.Rollout.SetShadow(r.Context(), *req.Enabled)
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	ok(w, http.StatusOK, "", viewRollout(st))
}
