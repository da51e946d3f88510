-- Outbound messages are sent through the work queue (tasks, kind 'send') in the lane of
-- their phone, so that one phone's messages leave in order. Rows still queued move over;
-- their retry times now live with their task.
INSERT INTO tasks (kind, ref, lane, attempt, created_at)
SELECT 'send', id, 'outbound:' || phone, attempts, created_at
FROM outbox WHERE status = 'queued' ORDER BY created_at, id;
DROP INDEX outbox_due;
ALTER TABLE outbox DROP COLUMN next_attempt_at;
