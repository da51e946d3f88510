-- Webhook items that can never be stored (a NUL character, a text longer than WhatsApp
-- allows, a sender that is no phone number): kept here with the reason, instead of
-- failing their whole webhook for ever. What was received is shown escaped (excerpt), so
-- a NUL or a broken byte reads as \x00 rather than breaking the row.
CREATE TABLE dead_letters (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('message', 'status')),
    wamid        text NOT NULL,              -- escaped like excerpt when it is not storable as is
    phone        text NOT NULL DEFAULT '',   -- the sender or recipient, as received (escaped)
    reason       text NOT NULL,              -- nul_character, invalid_utf8, too_long, invalid_sender, unstorable
    excerpt      text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    -- Meta retries a webhook it thinks failed: a second copy adds nothing.
    UNIQUE (kind, wamid)
);
