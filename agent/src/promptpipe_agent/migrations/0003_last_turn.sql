-- What the newest turn did (tool calls with results, model, latency), for the inspector.
ALTER TABLE conversations ADD COLUMN last_turn jsonb;
