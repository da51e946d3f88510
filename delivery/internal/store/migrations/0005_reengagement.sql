-- When WhatsApp refuses a free-form message because the 24-hour window is closed (131047),
-- delivery sends the configured template instead; fallback_for links it to the refused
-- message, and its uniqueness makes a repeated failure webhook send the template once.
ALTER TABLE messages ADD COLUMN fallback_for bigint UNIQUE REFERENCES messages (id);
