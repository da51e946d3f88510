package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/store"
)

func TestNextDaily(t *testing.T) {
	toronto, _ := time.LoadLocation("America/Toronto")
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		after, hhmm, want string
	}{
		{"2026-03-05T10:00:00Z", "07:30", "2026-03-05T12:30:00Z"}, // 05:00 local: later today
		{"2026-03-05T13:00:00Z", "07:30", "2026-03-06T12:30:00Z"}, // 08:00 local: tomorrow
		{"2026-03-05T12:30:00Z", "07:30", "2026-03-06T12:30:00Z"}, // exactly now: the next one
		{"2026-03-07T13:00:00Z", "07:30", "2026-03-08T11:30:00Z"}, // across the spring DST change
	} {
		got, err := NextDaily(at(c.after), c.hhmm, toronto)
		if err != nil || !got.Equal(at(c.want)) {
			t.Errorf("NextDaily(%s, %s) = %v, %v; want %s", c.after, c.hhmm, got, err, c.want)
		}
	}
	for _, bad := range []string{"7:30pm", "24:00", "", "07:60"} {
		if _, err := NextDaily(time.Now(), bad, toronto); err == nil {
			t.Errorf("NextDaily accepted %q", bad)
		}
	}
}

func TestCalendarNext(t *testing.T) {
	ptr := func(v int) *int { return &v }
	after := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC) // a Wednesday
	for _, c := range []struct {
		cal  Calendar
		want time.Time
	}{
		{Calendar{Timezone: "UTC"}, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)},                                        // {} is daily at 00:00
		{Calendar{Hour: ptr(18), Timezone: "UTC"}, time.Date(2026, 3, 4, 18, 0, 0, 0, time.UTC)},                        // same day, still ahead
		{Calendar{Hour: ptr(18), Weekday: ptr(1), Timezone: "UTC"}, time.Date(2026, 3, 9, 18, 0, 0, 0, time.UTC)},       // next Monday
		{Calendar{Day: ptr(1), Month: ptr(1), Timezone: "UTC"}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},            // new year
		{Calendar{Hour: ptr(9), Minute: ptr(30), Timezone: "Asia/Tokyo"}, time.Date(2026, 3, 5, 0, 30, 0, 0, time.UTC)}, // 09:30 in Tokyo
	} {
		got, err := c.cal.Next(after)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%+v: got %v, %v; want %v", c.cal, got, err, c.want)
		}
	}
}

// fakeJobs is the store at the edge of the firer.
type fakeJobs struct {
	due      map[string]store.DueJob
	outcomes []store.JobOutcome
	replies  []*store.Outbound
}

func (f *fakeJobs) DueJob(_ context.Context, id string) (store.DueJob, error) {
	d, ok := f.due[id]
	if !ok {
		return d, store.ErrNotFound
	}
	return d, nil
}

func (f *fakeJobs) SettleJob(_ context.Context, _ queue.Task, _ string, o store.JobOutcome, reply *store.Outbound) error {
	f.outcomes = append(f.outcomes, o)
	f.replies = append(f.replies, reply)
	return nil
}

type fakeAgent struct {
	answer string
	err    error
	calls  []agent.ProcessEventRequest
}

func (f *fakeAgent) ProcessEventWithRetry(_ context.Context, req agent.ProcessEventRequest, _ int) (*agent.ProcessMessageResponse, error) {
	f.calls = append(f.calls, req)
	if f.err != nil {
		return nil, f.err
	}
	return &agent.ProcessMessageResponse{Response: f.answer}, nil
}

var (
	occurrence = time.Date(2026, 3, 5, 12, 30, 0, 0, time.UTC)
	london     = "Europe/London"
	half12     = "12:30"
	active     = &store.Participant{ID: "p_1", PhoneNumber: "15550001111", Status: store.StatusActive}
)

func fireOne(t *testing.T, d store.DueJob, ag *fakeAgent, attempt int) (*fakeJobs, error) {
	t.Helper()
	jobs := &fakeJobs{due: map[string]store.DueJob{d.Job.ID: d}}
	f := &Firer{Jobs: jobs, Agent: ag, AgentAttempts: 2, Retry: retry.Policy{Attempts: 3}, Metrics: metrics.New(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err := f.Handle(context.Background(), queue.Task{Kind: store.TaskFire, Ref: d.Job.ID, Attempt: attempt})
	return jobs, err
}

func TestAnEventAsksTheAgentOnceAndSendsWhatItSays(t *testing.T) {
	ag := &fakeAgent{answer: "Time for your walk"}
	d := store.DueJob{Job: store.Job{ID: "job_1", ParticipantID: "p_1", Type: store.JobEvent, Kind: "reminder",
		Status: "pending", OccurrenceAt: occurrence}, Participant: active}
	jobs, err := fireOne(t, d, ag, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ag.calls) != 1 || ag.calls[0].EventID != "job_1@2026-03-05T12:30:00Z" || ag.calls[0].PhoneNumber != "+15550001111" {
		t.Fatalf("agent calls = %+v", ag.calls)
	}
	if jobs.outcomes[0].Status != "done" || jobs.replies[0] == nil || jobs.replies[0].Body != "Time for your walk" {
		t.Fatalf("outcome %+v, reply %+v", jobs.outcomes[0], jobs.replies[0])
	}
}

func TestAScheduleMovesToTheNextDayAndAPausedParticipantIsSkipped(t *testing.T) {
	paused := *active
	paused.Status = store.StatusPaused
	ag := &fakeAgent{answer: "unused"}
	d := store.DueJob{Job: store.Job{ID: "job_2", ParticipantID: "p_1", Type: store.JobSchedule, Kind: "daily_prompt",
		Status: "pending", OccurrenceAt: occurrence, LocalTime: &half12, Timezone: &london}, Participant: &paused}
	jobs, err := fireOne(t, d, ag, 1)
	if err != nil {
		t.Fatal(err)
	}
	o := jobs.outcomes[0]
	if len(ag.calls) != 0 || o.Status != "pending" || !o.OccurrenceAt.Equal(occurrence.Add(24*time.Hour)) || jobs.replies[0] != nil {
		t.Fatalf("agent calls %d, outcome %+v", len(ag.calls), o)
	}
}

func TestAFailedCallGoesBackToTheQueueUntilTheLastAttempt(t *testing.T) {
	ag := &fakeAgent{err: errors.New("agent failed after retries: 503")}
	d := store.DueJob{Job: store.Job{ID: "job_3", ParticipantID: "p_1", Type: store.JobEvent, Kind: "reminder",
		Status: "pending", OccurrenceAt: occurrence}, Participant: active}
	jobs, err := fireOne(t, d, ag, 1)
	if err == nil || len(jobs.outcomes) != 0 {
		t.Fatalf("first attempt: %v, outcomes %+v; want the error back to the queue", err, jobs.outcomes)
	}
	jobs, err = fireOne(t, d, ag, 3)
	if err != nil || jobs.outcomes[0].Status != "failed" || jobs.outcomes[0].Attempts != 3 {
		t.Fatalf("last attempt: %v, outcomes %+v; want the event failed", err, jobs.outcomes)
	}
}

func TestACanceledJobOnlyCompletesItsTask(t *testing.T) {
	ag := &fakeAgent{answer: "unused"}
	d := store.DueJob{Job: store.Job{ID: "job_4", ParticipantID: "p_1", Type: store.JobEvent, Status: "canceled",
		OccurrenceAt: occurrence}, Participant: active}
	jobs, err := fireOne(t, d, ag, 1)
	if err != nil || len(ag.calls) != 0 || jobs.outcomes[0] != (store.JobOutcome{}) {
		t.Fatalf("%v, agent calls %d, outcome %+v", err, len(ag.calls), jobs.outcomes)
	}
}

func TestAPromptSendsItsTextAndWaitsForItsNextMatch(t *testing.T) {
	payload, _ := json.Marshal(PromptPayload{To: "15552223333", Text: "Stretch!", Schedule: Calendar{Timezone: "UTC"}})
	d := store.DueJob{Job: store.Job{ID: "job_5", Type: store.JobPrompt, Kind: "prompt", Status: "pending",
		OccurrenceAt: occurrence, Payload: payload}}
	jobs, err := fireOne(t, d, &fakeAgent{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := jobs.replies[0]; r == nil || r.Body != "Stretch!" || r.Phone != "15552223333" ||
		!jobs.outcomes[0].OccurrenceAt.Equal(time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("reply %+v, outcome %+v", r, jobs.outcomes[0])
	}
}

func TestATaskForAJobThatDoesNotExistIsNotRetried(t *testing.T) {
	f := &Firer{Jobs: &fakeJobs{}, Agent: &fakeAgent{}, Metrics: metrics.New(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := f.Handle(context.Background(), queue.Task{Ref: "job_none"}); err == nil || retry.Retryable(err) {
		t.Fatalf("Handle = %v", err)
	}
}
