-- One conversation per participant, its history, and the answers already given.

CREATE TABLE conversations (
    participant_id  text PRIMARY KEY,
    phone_number    text NOT NULL,
    sub_state       text NOT NULL DEFAULT 'INTAKE' CHECK (sub_state IN ('INTAKE', 'FEEDBACK')),
    profile         jsonb NOT NULL DEFAULT '{}',
    turns           integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE history (
    id              bigserial PRIMARY KEY,
    participant_id  text NOT NULL REFERENCES conversations (participant_id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('user', 'assistant')),
    content         text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX history_participant ON history (participant_id, id);

-- The answer given to each message id, so a retried call returns it instead of running
-- the turn again.
CREATE TABLE processed_messages (
    message_id      text PRIMARY KEY,
    participant_id  text NOT NULL,
    answer          jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
