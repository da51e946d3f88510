package outbox

import (
	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

// Reply is the outbound message for what the agent said: text, or text with reply
// buttons when the agent offered some, with the agent's template fallback if any.
func Reply(phone string, participantID *string, answer agent.ProcessMessageResponse) store.Outbound {
	replyButtons := make([]whatsapp.ReplyButton, 0, len(answer.Buttons))
	for _, b := range answer.Buttons {
		replyButtons = append(replyButtons, whatsapp.ReplyButton{ID: b.ID, Title: b.Title})
	}
	kind, payload := whatsapp.ReplyMessage(phone, answer.Response, replyButtons)
	out := store.Outbound{Phone: phone, ParticipantID: participantID, Type: kind, Body: answer.Response, Payload: payload, Arm: answer.Arm}
	if t := answer.Template; t != nil && t.Name != "" {
		out.Fallback = &whatsapp.Template{Name: t.Name, Language: t.Language, Parameters: t.Parameters}
	}
	return out
}
