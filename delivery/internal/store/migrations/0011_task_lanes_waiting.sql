-- A task behind an earlier one of its lane now waits in state 'waiting' and is made
-- ready when that one finishes, so that claiming reads only ready tasks (cheap however
-- long a lane's backlog) instead of checking every task's lane.
ALTER TABLE tasks DROP CONSTRAINT tasks_state_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_state_check CHECK (state IN ('waiting', 'ready', 'leased', 'failed'));
UPDATE tasks t SET state = 'waiting'
WHERE t.state = 'ready' AND t.lane IS NOT NULL
  AND EXISTS (SELECT 1 FROM tasks e WHERE e.lane = t.lane AND e.id < t.id AND e.state <> 'failed');
DROP INDEX tasks_due;
CREATE INDEX tasks_ready ON tasks (kind, run_at, id) WHERE state = 'ready';
CREATE INDEX tasks_leased ON tasks (kind, lease_until) WHERE state = 'leased';
