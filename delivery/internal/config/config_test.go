package config

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultsNeedNoEnvironment(t *testing.T) {
	c, err := Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.AgentTimeout != 30*time.Second || c.AgentRetryCount != 3 || c.Concurrency != 256 ||
		c.DBConnections != 10 || c.Lease != 30*time.Second || !c.MarkRead || c.LateReplyWithin != 10*time.Minute {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestBadValuesAreAllReported(t *testing.T) {
	env := map[string]string{"DELIVERY_CONCURRENCY": "0", "DELIVERY_LEASE": "-1s", "PYTHON_AGENT_TIMEOUT": "soon", "DELIVERY_LOG_LEVEL": "loud", "WHATSAPP_MARK_READ": "maybe", "DELIVERY_LATE_REPLY_WITHIN": "-1m"}
	_, err := Load(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("accepted bad config")
	}
	for _, key := range []string{"DELIVERY_CONCURRENCY", "DELIVERY_LEASE", "PYTHON_AGENT_TIMEOUT", "DELIVERY_LOG_LEVEL", "WHATSAPP_MARK_READ", "DELIVERY_LATE_REPLY_WITHIN"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}

func TestLogValueMasksSecrets(t *testing.T) {
	c, _ := Load(func(k string) string {
		return map[string]string{"DATABASE_URL": "postgres://u:hunter2@h/db", "WHATSAPP_ACCESS_TOKEN": "tok-123",
			"AGENT_API_TOKEN": "agent-tok-456", "WHATSAPP_APP_SECRET": "app-789", "DELIVERY_API_TOKEN": "admin-012"}[k]
	})
	s := c.LogValue().String()
	for _, secret := range []string{"hunter2", "tok-123", "agent-tok-456", "app-789", "admin-012"} {
		if strings.Contains(s, secret) {
			t.Fatalf("secret %q in log value: %s", secret, s)
		}
	}
	if c.AgentAPIToken != "agent-tok-456" || !strings.Contains(s, "agent_api_token_set=true") {
		t.Fatalf("agent token not read or not reported as set: %q, %s", c.AgentAPIToken, s)
	}
}

func TestMarkReadCanBeSwitchedOff(t *testing.T) {
	c, err := Load(func(k string) string { return map[string]string{"WHATSAPP_MARK_READ": "false"}[k] })
	if err != nil || c.MarkRead {
		t.Fatalf("MarkRead = %v, err = %v", c.MarkRead, err)
	}
}

func TestMigrationSettings(t *testing.T) {
	c, err := Load(func(k string) string {
		return map[string]string{"AGENT_CANDIDATE_URL": "http://127.0.0.1:8002/", "AGENT_ROLLOUT_PERCENT": "25",
			"AGENT_SHADOW": "true", "AGENT_FALLBACK": "apology"}[k]
	})
	if err != nil || c.CandidateURL != "http://127.0.0.1:8002" || c.RolloutPercent != 25 || !c.Shadow || c.Fallback != "apology" {
		t.Fatalf("config = %+v, err = %v", c, err)
	}
	d, _ := Load(func(string) string { return "" })
	if d.Fallback != "responder" || d.RolloutPercent != 0 || d.Shadow {
		t.Fatalf("defaults = %+v", d)
	}
	for _, env := range []map[string]string{
		{"AGENT_ROLLOUT_PERCENT": "10"}, // no candidate
		{"AGENT_SHADOW": "true"},        // no candidate
		{"AGENT_CANDIDATE_URL": "http://x", "AGENT_ROLLOUT_PERCENT": "101"},
		{"AGENT_FALLBACK": "silence"},
	} {
		if _, err := Load(func(k string) string { return env[k] }); err == nil {
			t.Errorf("accepted %v", env)
		}
	}
}

func TestLateRepliesCanBeSwitchedOff(t *testing.T) {
	c, err := Load(func(k string) string { return map[string]string{"DELIVERY_LATE_REPLY_WITHIN": "0"}[k] })
	if err != nil || c.LateReplyWithin != 0 {
		t.Fatalf("LateReplyWithin = %v, err = %v", c.LateReplyWithin, err)
	}
}
