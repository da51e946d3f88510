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
)

// inboundLane keeps one phone's inbound messages in order.
func inboundLane(phone string) string { return "inbound:" + phone }

// outboundLane keeps one phone's outbound messages in order.
func outboundLane(phone string) string { return "outbound:" + phone }
