-- The message templates of each WhatsApp Business Account (template_registry.py): those
-- created through the Graph API, and any review or deletion of the configured ones, each
-- as one JSON row. A deleted template keeps its row, marked, so that a deleted configured
-- template (hello_world) does not come back on the next start. Same SQL for Postgres and
-- SQLite, as 0001.
CREATE TABLE IF NOT EXISTS templates (
    id text PRIMARY KEY,
    waba_id text NOT NULL,
    data text NOT NULL
);
