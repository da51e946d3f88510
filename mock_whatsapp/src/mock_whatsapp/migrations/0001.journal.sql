-- The mock's journal, in SQL that Postgres and SQLite both read (yoyo applies it; on
-- Postgres in the schema mock_whatsapp). JSON is kept as text and timestamps as ISO-8601
-- text, so one statement serves both; Postgres tables made by the mock's earlier
-- hand-made runner (jsonb, timestamptz, a serial seq) are taken as they are.
CREATE TABLE IF NOT EXISTS phones (
    number text PRIMARY KEY,
    name text NOT NULL,
    last_inbound_at text,
    state text
);
-- seq: the order messages were first written, which is the order of each chat.
CREATE TABLE IF NOT EXISTS messages (
    id text PRIMARY KEY,
    seq bigint,
    phone text NOT NULL,
    data text NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (key text PRIMARY KEY, answer text NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (id integer PRIMARY KEY, data text NOT NULL);
CREATE TABLE IF NOT EXISTS subscribers (id text PRIMARY KEY, data text NOT NULL);
CREATE TABLE IF NOT EXISTS media (
    id text PRIMARY KEY,
    business_id text NOT NULL,
    mime_type text NOT NULL,
    filename text NOT NULL,
    content bytea NOT NULL
);
-- One row, whose key is TRUE.
CREATE TABLE IF NOT EXISTS clock (
    id boolean PRIMARY KEY DEFAULT TRUE CHECK (id),
    offset_seconds double precision NOT NULL
);
