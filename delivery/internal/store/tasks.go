package store

// The kinds of work in the queue (package queue). The store writes each task in the
// transaction that makes the work necessary; a handler in the package named beside it
// does the work and settles it through the store.
const (
	TaskAnswer = "answer" // answer an inbound message (inbound)
	TaskSend   = "send"   // send an outbox row to WhatsApp (outbox)
	TaskFire   = "fire"   // fire a due job occurrence (jobs)
	// TaskReengage finds a replacement for an outbound message WhatsApp refused (outbox).
	TaskReengage = "reengage"
	// TaskReplay hands the agent a message that was answered with the apology while the
	// agent could not be reached (inbound).
	TaskReplay = "replay"
)

// inboundLane keeps one phone's inbound messages in order.
func inboundLane(phone string) string { return "inbound:" + phone }

// replayLane keeps one phone's replays in order. It is not the phone's inbound lane: a
// replay waits for the agent to come back, and the phone's next messages must not wait
// behind it for their own (apology) answer.
func replayLane(phone string) string { return "replay:" + phone }

// outboundLane keeps one phone's outbound messages in order.
func outboundLane(phone string) string { return "outbound:" + phone }
