-- Due jobs are fired through the work queue (tasks, kind 'fire', ref the job id): each
-- pending job has one task, due at its occurrence (or its next retry). The job row keeps
-- what the job is; when it is next tried, and how often it was, live with its task.
INSERT INTO tasks (kind, ref, run_at, attempt, last_error, created_at)
SELECT 'fire', id, run_at, attempts, last_error, created_at
FROM jobs WHERE status = 'pending' ORDER BY run_at, id;
DROP INDEX jobs_due;
ALTER TABLE jobs DROP COLUMN run_at;
