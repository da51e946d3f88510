// Command delivery is PromptPipe's message-delivery service.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"promptpipe/delivery/internal/agent"
	"promptpipe/delivery/internal/arms"
	"promptpipe/delivery/internal/clock"
	"promptpipe/delivery/internal/config"
	"promptpipe/delivery/internal/devevents"
	"promptpipe/delivery/internal/fallback"
	"promptpipe/delivery/internal/httpapi"
	"promptpipe/delivery/internal/inbound"
	"promptpipe/delivery/internal/jobs"
	"promptpipe/delivery/internal/metrics"
	"promptpipe/delivery/internal/outbox"
	"promptpipe/delivery/internal/queue"
	"promptpipe/delivery/internal/retry"
	"promptpipe/delivery/internal/rollout"
	"promptpipe/delivery/internal/shadow"
	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "delivery:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if len(args) > 1 && args[1] == "healthcheck" {
		return healthcheck(cfg.Addr)
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "delivery")
	log.Info("starting", "config", cfg)

	db, err := store.Open(ctx, cfg.DatabaseURL, int32(cfg.DBConnections))
	if err != nil {
		return err
	}
	defer db.Close()

	m := metrics.New()
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "delivery_inbound_queue_depth",
		Help: "Inbound messages not yet answered.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := db.InboundQueueDepth(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))

	clk, err := clock.New(ctx, db.Pool, cfg.DevClock)
	if err != nil {
		return err
	}
	if clk.Virtual() {
		log.Info("virtual clock", "now", clk.Now(), "offset", clk.Offset().String())
		notifyClock(cfg.ClockNotifyURLs, clk.Now(), log) // peers may have restarted since
	}

	tasks := queue.Postgres{Pool: db.Pool}
	owner := queue.NewOwner()
	var gate *queue.Gate
	if clk.Virtual() { // a dev stack: worlds are saved and loaded with the queue paused
		gate = queue.NewGate()
	}
	// runner works one kind of task; every kind shares the lease, the concurrency and the
	// clock, and differs in its handler and how it retries.
	runner := func(kind string, handle queue.Handler, policy retry.Policy) *queue.Runner {
		return &queue.Runner{Kind: kind, Handle: handle, Store: tasks, Owner: owner, Concurrency: cfg.Concurrency,
			Lease: cfg.Lease, Poll: time.Second, Grace: 5 * time.Second, Retry: policy, Now: clk.Now, Log: log, Gate: gate}
	}

	agentClient := agent.NewClient(cfg.AgentURL, cfg.AgentTimeout, m, log)
	agentClient.Now, agentClient.Arm = clk.Now, arms.Primary
	agentClient.Token = cfg.AgentAPIToken
	var agentFaults *agent.Faults
	var events *devevents.Feed
	if clk.Virtual() { // a dev stack: let the simulator make the agent look down or slow, and watch
		agentFaults = &agent.Faults{}
		agentClient.Faults = agentFaults
		events = devevents.NewFeed(2000, clk.Now)
		agentClient.Events = events
	}
	healthCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := agentClient.Health(healthCtx); err != nil {
		log.Warn("python agent health check failed", "error", err)
	} else {
		log.Info("python agent is healthy")
	}
	cancel()

	a, err := agentArms(ctx, cfg, db, m, log, clk, events, agentClient, agentFaults)
	if err != nil {
		return err
	}
	defer a.close()
	migration, router := a.migration, a.router

	waClient := whatsapp.NewClient(cfg.WhatsAppAPIURL, cfg.WhatsAppPhoneNumberID, cfg.WhatsAppAccessToken)
	answerer := &inbound.Answerer{
		Messages: db, Agent: router, AgentAttempts: cfg.AgentRetryCount,
		ReplayAfter: 2 * time.Second, Now: clk.Now, Metrics: m, Log: log, Events: events,
		Fallback: router.Fallback,
	}
	if cfg.MarkRead {
		// Short: a receipt only matters while the answer is being made.
		answerer.Receipts = &inbound.Receipts{WhatsApp: waClient, Timeout: 2 * time.Second,
			Retry:   retry.Policy{Attempts: 2, Base: 200 * time.Millisecond, Cap: 200 * time.Millisecond},
			Metrics: m, Log: log, Events: events}
	}
	sendPolicy := retry.Policy{Attempts: 10, Base: time.Second, Cap: 5 * time.Minute}
	sender := &outbox.Sender{Outbox: db, WhatsApp: waClient, Retry: sendPolicy, Metrics: m, Log: log, Events: events}
	sends := runner(store.TaskSend, sender.Handle, sendPolicy)
	answerer.Replied = sends.Wake
	reengager := &outbox.Reengager{Refusals: db, Queued: sends.Wake, Log: log,
		Default: whatsapp.Template{Name: cfg.ReengagementTemplate, Language: cfg.TemplateLanguage}}
	reengages := runner(store.TaskReengage, reengager.Handle, retry.Policy{Attempts: 10, Base: time.Second, Cap: time.Minute})
	// Answering never gives up on its own (the agent's failure is answered with an
	// apology); what is retried here is a failed settle, such as the database away.
	answers := runner(store.TaskAnswer, answerer.Handle, retry.Policy{Attempts: 20, Base: time.Second, Cap: time.Minute})
	// A message answered with the apology waits for the agent: one call at a time per
	// phone, at most 30 s apart, for about an hour (then the phone's next message hands
	// it over).
	// A kept message goes to whichever agent serves the participant by then (arms).
	replayer := &inbound.Replayer{Messages: db, Agent: router, LateReplyWithin: cfg.LateReplyWithin,
		Replied: sends.Wake, Metrics: m, Log: log, Events: events}
	replays := runner(store.TaskReplay, replayer.Handle, retry.Policy{Attempts: 240, Base: time.Second, Cap: 30 * time.Second})
	firePolicy := retry.Policy{Attempts: 5, Base: 30 * time.Second, Cap: 10 * time.Minute}
	firer := &jobs.Firer{Jobs: db, Agent: router, AgentAttempts: cfg.AgentRetryCount, Retry: firePolicy,
		Replied: sends.Wake, Metrics: m, Log: log}
	fires := runner(store.TaskFire, firer.Handle, firePolicy)
	clk.OnChange = func(now time.Time) {
		// Peers first, so that what the due jobs send is stamped with the new time.
		notifyClock(cfg.ClockNotifyURLs, now, log)
		fires.Wake()
		migration.Rollout.Wake()
	}
	api := &httpapi.Server{
		Store: db, Metrics: m, Log: log, AppSecret: cfg.WhatsAppAppSecret, VerifyToken: cfg.WhatsAppVerifyToken,
		APIToken: cfg.APIToken, InboundWake: answers, OutboxWake: sends, JobsWake: fires, Clock: clk,
		AgentFaults: agentFaults, Events: events, Gate: gate, Migration: migration,
		CandidateFaults: a.candidateFaults,
	}
	srv := httpapi.NewHTTPServer(cfg.Addr, api.Routes(), httpapi.DefaultTimeouts)

	var wg sync.WaitGroup
	for _, r := range []*queue.Runner{answers, sends, fires, reengages, replays} {
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); migration.Rollout.Run(ctx) }()

	errc := make(chan error, 1)
	go func() {
		log.Info("listening", "addr", cfg.Addr)
		if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			errc <- err
		}
		close(errc)
	}()
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("serving http: %w", err)
		}
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShutdown()
	_ = srv.Shutdown(shutdownCtx)
	wg.Wait()
	return nil
}

// armsSetup is the migration between two agents, as agentArms builds it.
type armsSetup struct {
	migration       *httpapi.Migration
	router          *arms.Router
	candidateFaults *agent.Faults // nil without a candidate or a virtual clock
	close           func()        // ends the shadow turns in flight
}

// agentArms builds the migration between the primary agent and the candidate (if one is
// configured): the router that stands where the agent client stood, the shadow, and the
// rollout controller with its stored state.
func agentArms(ctx context.Context, cfg config.Config, db *store.Store, m *metrics.Metrics, log *slog.Logger,
	clk *clock.Clock, events *devevents.Feed, primary *agent.Client, primaryFaults *agent.Faults) (armsSetup, error) {
	mm := m.NewMigration()
	stats, book := arms.NewStats(10_000), shadow.NewBook(1_000)
	controller := &rollout.Controller{Store: db, Stats: stats, Book: book, Metrics: mm, Events: events, Log: log, Now: clk.Now}
	if err := controller.Load(ctx, cfg.RolloutPercent, cfg.Shadow); err != nil {
		return armsSetup{}, err
	}
	// client is one more client of an agent, on the same clock. A serving client counts
	// in the guide's metrics and the event log; a shadow client (no metrics) in neither,
	// as its calls serve no one: only their comparison is recorded.
	client := func(url, arm string, mm *metrics.Metrics, faults *agent.Faults, header http.Header) *agent.Client {
		c := agent.NewClient(url, cfg.AgentTimeout, mm, log)
		c.Now, c.Arm, c.Faults, c.Header = clk.Now, arm, faults, header
		c.Token = cfg.AgentAPIToken // the candidate is the same agent: it shares the token
		if mm != nil {
			c.Events = events
		}
		return c
	}
	router := &arms.Router{Primary: primary, Switches: controller, Stats: stats, Metrics: mm, Now: clk.Now,
		Apology:   inbound.FallbackApology,
		Comparing: client(cfg.AgentURL, arms.Primary, m, primaryFaults, agent.MarkCompare())}
	if cfg.Fallback == "responder" {
		router.Responder = fallback.Responder{}.Message
	}
	migration := &httpapi.Migration{Rollout: controller, Router: router, Stats: stats, Book: book,
		Candidate: cfg.CandidateURL != "", Secondary: cfg.ShadowSecondary}
	setup := armsSetup{migration: migration, router: router, close: func() {}}
	if cfg.CandidateURL == "" {
		return setup, nil
	}
	var candidateFaults *agent.Faults
	if clk.Virtual() {
		candidateFaults = &agent.Faults{}
	}
	candidate := client(cfg.CandidateURL, arms.Candidate, m, candidateFaults, nil)
	router.Candidate = candidate
	healthCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := candidate.Health(healthCtx); err != nil {
		log.Warn("candidate agent health check failed", "error", err)
	}
	shadower := &shadow.Shadower{Timeout: cfg.AgentTimeout, Book: book, Metrics: mm, Events: events, Log: log, Now: clk.Now,
		Candidate: client(cfg.CandidateURL, arms.Candidate, nil, candidateFaults, agent.MarkShadow())}
	if cfg.ShadowSecondary {
		shadower.Secondary = client(cfg.AgentURL, "secondary", nil, primaryFaults, agent.MarkShadow())
	}
	shadower.Start(8)
	router.Shadow = shadower
	setup.candidateFaults, setup.close = candidateFaults, shadower.Close
	return setup, nil
}

// notifyClock tells the other services the virtual time, best effort: a peer that misses
// it is told again at the next move or when delivery restarts.
func notifyClock(urls []string, now time.Time, log *slog.Logger) {
	client := http.Client{Timeout: 3 * time.Second}
	body := fmt.Sprintf(`{"now":%q}`, now.Format(time.RFC3339Nano))
	for _, u := range urls {
		req, err := http.NewRequest(http.MethodPut, u, strings.NewReader(body))
		if err != nil {
			log.Warn("clock notify url invalid", "url", u, "error", err)
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			log.Warn("telling the clock failed", "url", u, "error", err)
			continue
		}
		resp.Body.Close()
	}
}

// healthcheck asks this process's own /readyz; container images have no curl.
func healthcheck(addr string) error {
	host, port, _ := strings.Cut(addr, ":")
	if host == "" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + host + ":" + port + "/readyz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("readyz answered %d", resp.StatusCode)
	}
	return nil
}
