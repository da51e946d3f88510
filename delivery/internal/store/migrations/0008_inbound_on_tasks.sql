-- Inbound messages wait in the work queue (tasks, kind 'answer') instead of their own
-- table: one task per message, in the lane of its phone so that a phone's messages are
-- answered one at a time, in order. Unanswered messages move over as they are.
INSERT INTO tasks (kind, ref, lane, attempt, created_at)
SELECT 'answer', message_id::text, 'inbound:' || phone, attempts, enqueued_at
FROM inbound_queue WHERE done_at IS NULL ORDER BY message_id;
DROP TABLE inbound_queue;
