-- The work queue (package queue): every piece of work with a network call in it. A worker
-- leases a task in one short transaction, makes the call with no transaction open, and
-- settles the task in another short one only if its lease still holds; a finished task
-- is deleted. A lease that runs out (its worker died) lets anyone take the task again.
CREATE TABLE tasks (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,                          -- which handler runs it
    ref          text NOT NULL,                          -- what it is about (a message id, an outbox id, a job id)
    -- Tasks of one lane run one at a time, oldest first (one phone's messages); NULL: no order.
    lane         text,
    run_at       timestamptz NOT NULL DEFAULT '-infinity', -- due from, in delivery's (virtual) time
    state        text NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'leased', 'failed')),
    attempt      integer NOT NULL DEFAULT 0,             -- leases taken so far
    lease_owner  text,
    lease_until  timestamptz,                            -- the database's real time
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_due ON tasks (kind, run_at, id) WHERE state <> 'failed';
CREATE INDEX tasks_lane ON tasks (lane, id) WHERE state <> 'failed' AND lane IS NOT NULL;
CREATE INDEX tasks_ref ON tasks (kind, ref);
