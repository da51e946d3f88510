-- Durable time-based work (one-shot events and daily schedules) and the virtual clock.

-- A single row: how far the dev stack's virtual clock runs ahead of real time.
CREATE TABLE clock (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    offset_ms  bigint NOT NULL DEFAULT 0
);
INSERT INTO clock DEFAULT VALUES;

-- One row per one-shot event or daily schedule. A schedule keeps its row: after each
-- occurrence, occurrence_at moves to the next day's local time.
CREATE TABLE jobs (
    id              text PRIMARY KEY,
    participant_id  text NOT NULL,
    type            text NOT NULL CHECK (type IN ('event', 'schedule')),
    kind            text NOT NULL,           -- what the agent is told: daily_prompt, reminder, ...
    payload         jsonb NOT NULL DEFAULT '{}',
    occurrence_at   timestamptz NOT NULL,    -- when this occurrence is due (virtual time)
    run_at          timestamptz NOT NULL,    -- when to try next (later than occurrence_at after a failure)
    local_time      text,                    -- schedules: HH:MM in timezone
    timezone        text,
    dedupe_key      text,
    status          text NOT NULL CHECK (status IN ('pending', 'done', 'canceled', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE status = 'pending';
CREATE INDEX jobs_participant ON jobs (participant_id) WHERE status = 'pending';
CREATE UNIQUE INDEX jobs_dedupe ON jobs (participant_id, dedupe_key) WHERE status = 'pending' AND dedupe_key IS NOT NULL;
