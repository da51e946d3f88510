package fallback

import (
	"testing"

	"promptpipe/delivery/internal/agent"
)

func TestMessageAnswersByWhatWasSaid(t *testing.T) {
	for said, want := range map[string]string{
		"Done":           DoneReply,
		"  done! ":       DoneReply,
		"I did it.":      DoneReply,
		"Next time":      NextTimeReply,
		"not today":      NextTimeReply,
		"Hello coach":    Acknowledge,
		"done with work": Acknowledge, // only a whole answer counts
	} {
		got := Responder{}.Message(agent.ProcessMessageRequest{ParticipantID: "p_1", Message: said, PhoneNumber: "+1555"})
		if got.Response != want || got.State != State {
			t.Errorf("%q: got %q (%s), want %q", said, got.Response, got.State, want)
		}
		if got.Metadata["participant_id"] != "p_1" {
			t.Errorf("%q: metadata = %v", said, got.Metadata)
		}
	}
}

func TestDailyPromptGoesOutWithItsButtonsAndOtherEventsPassSilently(t *testing.T) {
	prompt := Responder{}.Event(agent.ProcessEventRequest{ParticipantID: "p_1", Kind: "daily_prompt"})
	if prompt.Response != DailyPrompt || len(prompt.Buttons) != 2 || prompt.Buttons[0] != Done || prompt.Buttons[1] != NextTime {
		t.Fatalf("daily prompt = %+v", prompt)
	}
	if prompt.Template == nil || prompt.Template.Name != PromptTemplate || len(prompt.Template.Parameters) != 2 {
		t.Fatalf("daily prompt template = %+v", prompt.Template)
	}
	for _, kind := range []string{"reminder", "auto_feedback", "feedback_timeout", "something_new"} {
		if got := (Responder{}).Event(agent.ProcessEventRequest{ParticipantID: "p_1", Kind: kind}); got.Response != "" || got.Buttons != nil {
			t.Errorf("%s said %+v", kind, got)
		}
	}
}

func TestAnswerReadsWholeMessages(t *testing.T) {
	for said, want := range map[string]string{"Done!": AnswerDone, "next time": AnswerNextTime, "Stop.": AnswerStop,
		"please stop sending these": AnswerOther, "": AnswerOther} {
		if got := Answer(said); got != want {
			t.Errorf("%q: %s, want %s", said, got, want)
		}
	}
}
