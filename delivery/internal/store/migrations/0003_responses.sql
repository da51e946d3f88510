-- Responses recorded through PromptPipe's POST /response (not through WhatsApp).
CREATE TABLE responses (
    id          bigserial PRIMARY KEY,
    phone       text NOT NULL,
    body        text NOT NULL,
    received_at timestamptz NOT NULL
);
