package httpapi

import (
	"errors"
	"net/http"
	"time"

	"promptpipe/delivery/internal/phone"
	"promptpipe/delivery/internal/store"
)

// enrollment is PromptPipe's ConversationEnrollmentRequest.
type enrollment struct {
	PhoneNumber string `json:"phone_number"`
	Name        string `json:"name"`
	Gender      string `json:"gender"`
	Ethnicity   string `json:"ethnicity"`
	Background  string `json:"background"`
	Timezone    string `json:"timezone"`
}

// participantUpdate is PromptPipe's ConversationParticipantUpdate: nil means unchanged.
type participantUpdate struct {
	Name       *string `json:"name"`
	Gender     *string `json:"gender"`
	Ethnicity  *string `json:"ethnicity"`
	Background *string `json:"background"`
	Timezone   *string `json:"timezone"`
	Status     *string `json:"status"`
}

func validTimezone(tz string) bool {
	if tz == "" {
		return true
	}
	_, err := time.LoadLocation(tz)
	return err == nil
}

func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	var req enrollment
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.PhoneNumber == "" {
		fail(w, http.StatusBadRequest, "phone_number is required")
		return
	}
	canonical, err := phone.Canonical(req.PhoneNumber)
	if err != nil {
		fail(w, http.StatusBadRequest, "Invalid phone number: "+err.Error())
		return
	}
	if !validTimezone(req.Timezone) {
		fail(w, http.StatusBadRequest, "invalid timezone")
		return
	}
	now := s.Clock.Now().UTC()
	p := &store.Participant{
		ID: store.NewParticipantID(), PhoneNumber: canonical, Name: req.Name, Gender: req.Gender,
		Ethnicity: req.Ethnicity, Background: req.Background, Timezone: req.Timezone,
		Status: store.StatusActive, EnrolledAt: now, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.Store.CreateParticipant(r.Context(), p); err != nil {
		if errors.Is(err, store.ErrConflict) {
			fail(w, http.StatusConflict, "Participant with this phone number already enrolled")
			return
		}
		s.storeError(w, r, err, "")
		return
	}
	s.Log.Info("participant enrolled", "participant_id", p.ID, "phone", phone.Mask(p.PhoneNumber))
	ok(w, http.StatusCreated, "Conversation participant enrolled successfully", p)
}

func (s *Server) handleListParticipants(w http.ResponseWriter, r *http.Request) {
	list, err := s.Store.ListParticipants(r.Context())
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	// An empty list is [] rather than PromptPipe's accidental null.
	writeJSON(w, http.StatusOK, struct {
		Status string              `json:"status"`
		Result []store.Participant `json:"result"`
	}{"ok", list})
}

func (s *Server) handleGetParticipant(w http.ResponseWriter, r *http.Request) {
	p, err := s.Store.GetParticipant(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, err, "Participant not found")
		return
	}
	ok(w, http.StatusOK, "", p)
}

func (s *Server) handleUpdateParticipant(w http.ResponseWriter, r *http.Request) {
	var req participantUpdate
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Timezone != nil && !validTimezone(*req.Timezone) {
		fail(w, http.StatusBadRequest, "invalid timezone")
		return
	}
	if req.Status != nil {
		switch *req.Status {
		case store.StatusActive, store.StatusPaused, store.StatusCompleted, store.StatusWithdrawn:
		default:
			fail(w, http.StatusBadRequest, "invalid status: must be one of active, paused, completed, withdrawn")
			return
		}
	}
	p, err := s.Store.GetParticipant(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, err, "Participant not found")
		return
	}
	for field, value := range map[*string]*string{
		&p.Name: req.Name, &p.Gender: req.Gender, &p.Ethnicity: req.Ethnicity,
		&p.Background: req.Background, &p.Timezone: req.Timezone, &p.Status: req.Status,
	} {
		if value != nil {
			*field = *value
		}
	}
	p.UpdatedAt = s.Clock.Now().UTC()
	if err := s.Store.UpdateParticipant(r.Context(), p); err != nil {
		s.storeError(w, r, err, "Participant not found")
		return
	}
	ok(w, http.StatusOK, "Participant updated successfully", p)
}

func (s *Server) handleDeleteParticipant(w http.ResponseWriter, r *http.Request) {
	if err := s.Store.DeleteParticipant(r.Context(), r.PathValue("id")); err != nil {
		s.storeError(w, r, err, "Participant not found")
		return
	}
	ok(w, http.StatusOK, "Participant deleted successfully", nil)
}

func (s *Server) handleParticipantMessages(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.Store.GetParticipant(r.Context(), id); err != nil {
		s.storeError(w, r, err, "Participant not found")
		return
	}
	msgs, err := s.Store.ListMessages(r.Context(), id)
	if err != nil {
		s.storeError(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Status string          `json:"status"`
		Result []store.Message `json:"result"`
	}{"ok", msgs})
}
