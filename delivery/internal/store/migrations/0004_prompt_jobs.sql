-- PromptPipe's POST /schedule sends fixed text to any phone on a recurring schedule: such
-- "prompt" jobs belong to no participant and carry their schedule as JSON.
ALTER TABLE jobs ALTER COLUMN participant_id DROP NOT NULL;
ALTER TABLE jobs DROP CONSTRAINT jobs_type_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_type_check CHECK (type IN ('event', 'schedule', 'prompt'));
