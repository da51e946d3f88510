-- Where the conversation stands beyond the sub-state: the daily schedule, the prompt
-- waiting for an answer, the feedback question asked last.
ALTER TABLE conversations ADD COLUMN flow jsonb NOT NULL DEFAULT '{}';
