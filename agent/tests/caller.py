"""The agent's bearer token in the tests, sent as delivery sends it, on a virtual clock
(DEV_CLOCK) so that the tests' X-PromptPipe-Now is honoured."""

TOKEN = "test-agent-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
TRUSTED = {"AGENT_API_TOKEN": TOKEN, "DEV_CLOCK": True}
