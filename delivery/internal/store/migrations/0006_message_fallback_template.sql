-- The template to send instead of this message when WhatsApp refuses it because the
-- 24-hour window is closed (131047): {"name", "language", "parameters"}. NULL means the
-- configured re-engagement template.
ALTER TABLE messages ADD COLUMN fallback_template jsonb;
