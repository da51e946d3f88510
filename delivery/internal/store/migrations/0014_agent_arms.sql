-- The migration between two agents (packages arms, shadow, rollout). Each reply records
-- the arm that wrote it: primary, candidate, or fallback (delivery's own answer when the
-- arm failed). The rollout's state is one row, its events a log, so both survive a restart.
ALTER TABLE messages ADD COLUMN arm text;

CREATE TABLE rollout (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id), -- one row
    state      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rollout_events (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL, -- delivery's (virtual) time
    kind    text NOT NULL,        -- started, step, halted, succeeded, promoted, rolled_back, shadow, env
    percent integer NOT NULL,     -- the candidate's share after the event
    detail  jsonb NOT NULL DEFAULT '{}'
);
