-- Participants, the message log, the inbound queue and the outbox.

CREATE TABLE participants (
    id            text PRIMARY KEY,
    phone_number  text NOT NULL UNIQUE,
    name          text NOT NULL DEFAULT '',
    gender        text NOT NULL DEFAULT '',
    ethnicity     text NOT NULL DEFAULT '',
    background    text NOT NULL DEFAULT '',
    timezone      text NOT NULL DEFAULT '',
    status        text NOT NULL CHECK (status IN ('active', 'paused', 'completed', 'withdrawn')),
    enrolled_at   timestamptz NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- Every message in either direction. wamid is WhatsApp's id: known at once for inbound
-- messages, set when the outbox has sent an outbound one.
CREATE TABLE messages (
    id              bigserial PRIMARY KEY,
    wamid           text UNIQUE,
    direction       text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    phone           text NOT NULL,
    participant_id  text,
    type            text NOT NULL,
    body            text NOT NULL DEFAULT '',
    -- inbound: received → done; outbound: queued → sent → delivered → read, or failed.
    status          text NOT NULL,
    error_code      integer,
    error_title     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_participant ON messages (participant_id, id);

-- Inbound messages waiting for (or under) processing. A row is done once its reply is in
-- the outbox; the worker holds the row locked while it works, so a crash just releases it.
CREATE TABLE inbound_queue (
    message_id   bigint PRIMARY KEY REFERENCES messages (id),
    phone        text NOT NULL,
    enqueued_at  timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0,
    done_at      timestamptz
);
CREATE INDEX inbound_queue_pending ON inbound_queue (phone, message_id) WHERE done_at IS NULL;

-- Outbound messages to send to WhatsApp. The row id is the Idempotency-Key of the send.
CREATE TABLE outbox (
    id               text PRIMARY KEY,
    message_id       bigint NOT NULL REFERENCES messages (id),
    phone            text NOT NULL,
    payload          jsonb NOT NULL,
    status           text NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'queued';

-- Every status webhook, kept as received: statuses may arrive twice, out of order, or
-- before the outbox has recorded the wamid they refer to.
CREATE TABLE status_events (
    id           bigserial PRIMARY KEY,
    wamid        text NOT NULL,
    status       text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    error_code   integer,
    error_title  text,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_events_wamid ON status_events (wamid);
