-- The message templates of each WhatsApp Business Account (template_store.py): those
-- created through the Graph API, and any review or deletion of the configured ones. One
-- statement set for Postgres (schema mock_whatsapp, the connection's search path) and
-- SQLite: the template is JSON text, so no column type differs between the two.
CREATE TABLE IF NOT EXISTS templates (
    id text PRIMARY KEY,
    waba_id text NOT NULL,
    data text NOT NULL
);
