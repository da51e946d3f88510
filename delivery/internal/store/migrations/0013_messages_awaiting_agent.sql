-- Every answer of an active participant's message first looks for the phone's messages
-- still awaiting the agent (answered with the apology while it was away): almost always
-- none, and this keeps finding none cheap however long the message log grows. The second
-- index serves the question a replay asks: has the phone written since?
CREATE INDEX messages_awaiting_agent ON messages (phone, id) WHERE status = 'awaiting_agent';
CREATE INDEX messages_inbound_phone ON messages (phone, id) WHERE direction = 'inbound';
