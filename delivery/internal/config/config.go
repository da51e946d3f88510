// Package config reads delivery's settings from the environment, once, at start.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Config is every setting delivery has; defaults sit beside the fields in Load.
type Config struct {
	DatabaseURL string
	Addr        string
	LogLevel    slog.Level
	APIToken    string // empty: the admin API is open (local development)

	// Concurrency is how many calls each kind of work (answering, sending, jobs) may have
	// in flight; it costs goroutines, not database connections.
	Concurrency int
	// DBConnections bounds the database pool; work holds a connection only for its short
	// claims, reads and settles, never across a network call.
	DBConnections int
	// Lease is how long a claimed task stays claimed without renewal; a crashed
	// process's work is taken up again after at most this long.
	Lease time.Duration

	// DevClock enables the virtual clock (/dev/clock); ClockNotifyURLs are told every move
	// with PUT {"now": RFC3339} so the whole stack keeps one time (mock_whatsapp's /_mock/clock).
	DevClock        bool
	ClockNotifyURLs []string

	AgentURL        string
	AgentAPIToken   string // sent as a bearer token with every call to the agent
	AgentTimeout    time.Duration
	AgentRetryCount int
	// LateReplyWithin: a message answered with the apology is handed to the agent when it
	// is back; its answer is sent late only if the participant has written nothing since
	// and the message is at most this old. 0: never.
	LateReplyWithin time.Duration

	// The migration's arms (package arms): a second agent on the same contract, the
	// share of participants it serves, whether it also answers the primary's turns in
	// shadow, and what answers when the serving agent fails ("responder": delivery's Go
	// flow, package fallback; "apology": the integration guide's fixed text).
	CandidateURL    string
	RolloutPercent  int
	Shadow          bool
	ShadowSecondary bool // also ask the primary a second time, to measure its own noise
	Fallback        string

	WhatsAppAPIURL        string
	WhatsAppPhoneNumberID string
	WhatsAppAccessToken   string
	WhatsAppAppSecret     string
	WhatsAppVerifyToken   string
	// Sent in place of a free-form message refused because the 24-hour window closed
	// (131047); empty disables the fallback.
	ReengagementTemplate string
	TemplateLanguage     string
	// MarkRead marks each message the agent works on read, with the typing indicator.
	MarkRead bool
}

// Load parses the environment through getenv; every problem is reported at once.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	str := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	num := func(key string, def, min int) int {
		v := str(key, strconv.Itoa(def))
		n, err := strconv.Atoi(v)
		if err != nil || n < min {
			errs = append(errs, fmt.Errorf("%s must be a whole number >= %d, got %q", key, min, v))
		}
		return n
	}
	dur := func(key string, def time.Duration) time.Duration {
		v := str(key, def.String())
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be a positive duration such as 30s, got %q", key, v))
		}
		return d
	}
	c := Config{
		DatabaseURL: str("DATABASE_URL", "postgres://promptpipe:promptpipe@127.0.0.1:5433/promptpipe?sslmode=disable"),
		Addr:        str("DELIVERY_ADDR", "127.0.0.1:8080"),
		APIToken:    str("DELIVERY_API_TOKEN", ""),

		Concurrency:   num("DELIVERY_CONCURRENCY", 256, 1),
		DBConnections: num("DELIVERY_DB_CONNECTIONS", 10, 2),
		Lease:         dur("DELIVERY_LEASE", 30*time.Second),

		AgentURL:        strings.TrimRight(str("PYTHON_AGENT_URL", "http://127.0.0.1:8001"), "/"),
		AgentAPIToken:   str("AGENT_API_TOKEN", ""),
		AgentTimeout:    dur("PYTHON_AGENT_TIMEOUT", 30*time.Second),
		AgentRetryCount: num("PYTHON_AGENT_RETRY_COUNT", 3, 1),
		CandidateURL:    strings.TrimRight(str("AGENT_CANDIDATE_URL", ""), "/"),
		RolloutPercent:  num("AGENT_ROLLOUT_PERCENT", 0, 0),
		Fallback:        str("AGENT_FALLBACK", "responder"),

		WhatsAppAPIURL:        strings.TrimRight(str("WHATSAPP_API_URL", "http://127.0.0.1:8090/v21.0"), "/"),
		WhatsAppPhoneNumberID: str("WHATSAPP_PHONE_NUMBER_ID", "100000000000001"),
		WhatsAppAccessToken:   str("WHATSAPP_ACCESS_TOKEN", "dev-access-token"),
		WhatsAppAppSecret:     str("WHATSAPP_APP_SECRET", "dev-app-secret"),
		WhatsAppVerifyToken:   str("WHATSAPP_VERIFY_TOKEN", "dev-verify-token"),
		ReengagementTemplate:  str("WHATSAPP_REENGAGEMENT_TEMPLATE", "habit_checkin"),
		TemplateLanguage:      str("WHATSAPP_TEMPLATE_LANGUAGE", "en"),
	}
	c.LateReplyWithin = 10 * time.Minute
	if v := str("DELIVERY_LATE_REPLY_WITHIN", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("DELIVERY_LATE_REPLY_WITHIN must be a duration such as 10m, or 0 for never, got %q", v))
		}
		c.LateReplyWithin = d
	}
	boolean := func(key string, def bool) bool {
		switch v := strings.ToLower(str(key, strconv.FormatBool(def))); v {
		case "true", "1", "yes", "on":
			return true
		case "false", "0", "no", "off":
			return false
		default:
			errs = append(errs, fmt.Errorf("%s must be true or false, got %q", key, v))
			return def
		}
	}
	c.DevClock = boolean("DEV_CLOCK", false)
	c.MarkRead = boolean("WHATSAPP_MARK_READ", true)
	c.Shadow = boolean("AGENT_SHADOW", false)
	c.ShadowSecondary = boolean("AGENT_SHADOW_SECONDARY", false)
	if c.RolloutPercent > 100 {
		errs = append(errs, fmt.Errorf("AGENT_ROLLOUT_PERCENT must be between 0 and 100, got %d", c.RolloutPercent))
	}
	if c.CandidateURL == "" && (c.RolloutPercent > 0 || c.Shadow) {
		errs = append(errs, errors.New("AGENT_ROLLOUT_PERCENT and AGENT_SHADOW need AGENT_CANDIDATE_URL"))
	}
	if c.Fallback != "responder" && c.Fallback != "apology" {
		errs = append(errs, fmt.Errorf("AGENT_FALLBACK must be responder or apology, got %q", c.Fallback))
	}
	for _, u := range strings.Split(str("DEV_CLOCK_NOTIFY_URLS", ""), ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.ClockNotifyURLs = append(c.ClockNotifyURLs, u)
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(str("DELIVERY_LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("DELIVERY_LOG_LEVEL: %w", err))
	}
	return c, errors.Join(errs...)
}

// LogValue masks the secrets so the config can be logged once at start.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("database_url", maskURL(c.DatabaseURL)),
		slog.Int("concurrency", c.Concurrency),
		slog.Int("db_connections", c.DBConnections),
		slog.Duration("lease", c.Lease),
		slog.Bool("dev_clock", c.DevClock),
		slog.Bool("api_token_set", c.APIToken != ""),
		slog.String("agent_url", c.AgentURL),
		slog.Bool("agent_api_token_set", c.AgentAPIToken != ""),
		slog.Duration("agent_timeout", c.AgentTimeout),
		slog.Int("agent_retry_count", c.AgentRetryCount),
		slog.String("agent_candidate_url", c.CandidateURL),
		slog.Int("agent_rollout_percent", c.RolloutPercent),
		slog.Bool("agent_shadow", c.Shadow),
		slog.Bool("agent_shadow_secondary", c.ShadowSecondary),
		slog.String("agent_fallback", c.Fallback),
		slog.Duration("late_reply_within", c.LateReplyWithin),
		slog.String("whatsapp_api_url", c.WhatsAppAPIURL),
		slog.String("whatsapp_phone_number_id", c.WhatsAppPhoneNumberID),
		slog.String("reengagement_template", c.ReengagementTemplate),
		slog.Bool("mark_read", c.MarkRead),
	)
}

// maskURL hides the password in a database URL.
func maskURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	creds := u[scheme+3 : at]
	if user, _, ok := strings.Cut(creds, ":"); ok {
		return u[:scheme+3] + user + ":***" + u[at:]
	}
	return u
}
