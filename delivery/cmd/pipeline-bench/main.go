// Command pipeline-bench measures the delivery binary end to end: signed webhooks in,
// replies out at a fake WhatsApp, through a fake agent, on a real Postgres. It prints,
// in one run:
//
//   - baselines measured beside it: a raw Go HTTP hop and a bare Postgres commit, so the
//     pipeline's rate reads as a fraction of what this machine can do at all;
//   - instant fakes: many messages from many phones, agent and WhatsApp answering at once
//     (messages/s, reply latency);
//   - slow agent: participants each sending one message at once to an agent that takes
//     its time, as a real LLM does (replies/s, reply latency);
//   - for each run, the Postgres connections delivery held and the longest transaction
//     seen (sampled from pg_stat_activity).
//
// Run it through scripts/bench.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"promptpipe/delivery/internal/whatsapp"
)

const secret = "bench-secret"

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pipeline-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	binary := fs.String("binary", "delivery", "the delivery binary to measure")
	messages := fs.Int("messages", 2000, "instant fakes: messages in the run")
	phones := fs.Int("phones", 200, "instant fakes: phones sending them")
	slowParticipants := fs.Int("slow-participants", 200, "slow agent: participants, each sending one message at once")
	slowDelay := fs.Duration("slow-delay", 2*time.Second, "slow agent: how long the agent takes to answer")
	only := fs.String("only", "", "run one scenario only: instant or slow")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	server := getenv("TEST_DATABASE_URL")
	if server == "" {
		return fmt.Errorf("TEST_DATABASE_URL must name a Postgres server the bench may create databases in")
	}
	settings, err := serverSettings(ctx, server)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "machine: %d CPUs; postgres: %s\n", runtime.NumCPU(), settings)

	hop, err := rawHTTPHop(2000, 16)
	if err != nil {
		return fmt.Errorf("raw http hop: %w", err)
	}
	commit, err := bareCommits(ctx, server, 2000, 16)
	if err != nil {
		return fmt.Errorf("bare commit: %w", err)
	}
	fmt.Fprintf(stdout, "baseline: raw Go HTTP hop %.0f requests/s; bare Postgres commit %.0f commits/s (16 at a time)\n", hop, commit)

	if *only == "" || *only == "instant" {
		r, err := measure(ctx, *binary, server, scenario{messages: *messages, phones: *phones, senders: 16})
		if err != nil {
			return fmt.Errorf("instant fakes: %w", err)
		}
		fmt.Fprintf(stdout, "instant fakes: %d messages from %d phones: %.0f messages/s (%.2f of a raw HTTP hop, %.2f of a bare commit); "+
			"reply latency p50 %s p99 %s; %s\n", *messages, *phones, r.rate, r.rate/hop, r.rate/commit,
			ms(r.p50), ms(r.p99), r.db)
		if r.duplicates > 0 {
			return fmt.Errorf("instant fakes: %d replies sent twice", r.duplicates)
		}
	}
	if *only == "" || *only == "slow" {
		r, err := measure(ctx, *binary, server, scenario{messages: *slowParticipants, phones: *slowParticipants,
			senders: *slowParticipants, agentDelay: *slowDelay})
		if err != nil {
			return fmt.Errorf("slow agent: %w", err)
		}
		ideal := float64(*slowParticipants) / slowDelay.Seconds()
		fmt.Fprintf(stdout, "slow agent (%s a turn): %d participants, one message each at once: %.1f replies/s (%.0f%% of the ideal %.0f); "+
			"reply latency p50 %s p99 %s; %s\n", *slowDelay, *slowParticipants, r.rate, 100*r.rate/ideal, ideal,
			ms(r.p50), ms(r.p99), r.db)
		if r.duplicates > 0 {
			return fmt.Errorf("slow agent: %d replies sent twice", r.duplicates)
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond)) }

// scenario is one run: messages spread over phones, posted by senders at once, to an
// agent answering after agentDelay.
type scenario struct {
	messages, phones, senders int
	agentDelay                time.Duration
}

type result struct {
	rate       float64 // replies per second, from the first webhook to the last reply
	p50, p99   time.Duration
	duplicates int
	db         dbUse
}

// measure starts delivery against fresh fakes and a fresh database, posts the webhooks
// and times every reply, from its webhook to its arrival at the fake WhatsApp.
func measure(ctx context.Context, binary, server string, sc scenario) (result, error) {
	dbURL, dbName, err := freshDatabase(ctx, server)
	if err != nil {
		return result{}, err
	}
	// The agent answers with the message id, so each reply names the message it answers.
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			MessageID string `json:"message_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		if r.URL.Path == "/process-message" && sc.agentDelay > 0 {
			time.Sleep(sc.agentDelay)
		}
		fmt.Fprintf(w, `{"response":%q,"state":"INTAKE","metadata":{}}`, "re "+req.MessageID)
	}))
	defer agent.Close()
	var mu sync.Mutex
	postedAt := make(map[string]time.Time, sc.messages)
	var latencies []time.Duration
	seen := map[string]bool{}
	duplicates := 0
	done := make(chan struct{})
	wa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var payload struct {
			Status string `json:"status"`
			Text   struct {
				Body string `json:"body"`
			} `json:"text"`
		}
		_ = json.NewDecoder(r.Body).Decode(&payload)
		if payload.Status == "read" { // delivery's read receipt: answered as Meta does, not a reply
			fmt.Fprint(w, `{"success":true}`)
			return
		}
		wamid := strings.TrimPrefix(payload.Text.Body, "re ")
		key := r.Header.Get("Idempotency-Key")
		mu.Lock()
		if seen[key] {
			mu.Unlock()
			fmt.Fprintf(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.%s"}]}`, key)
			return
		}
		seen[key] = true
		if at, ok := postedAt[wamid]; ok {
			latencies = append(latencies, time.Since(at))
			delete(postedAt, wamid)
			if len(latencies) == sc.messages {
				close(done)
			}
		} else {
			duplicates++ // a second reply to one message, under a new key
		}
		mu.Unlock()
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.%s"}]}`, key)
	}))
	defer wa.Close()

	port, err := freePort()
	if err != nil {
		return result{}, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(binary)
	// DELIVERY_WORKERS drives the binary before the queue; later ones ignore it.
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "DELIVERY_ADDR="+addr, "DELIVERY_LOG_LEVEL=error",
		"DELIVERY_WORKERS=4", "PYTHON_AGENT_URL="+agent.URL, "PYTHON_AGENT_TIMEOUT=30s",
		"WHATSAPP_API_URL="+wa.URL+"/v21.0", "WHATSAPP_APP_SECRET="+secret, "DEV_CLOCK=false")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://" + addr
	if err := waitReady(base); err != nil {
		return result{}, err
	}
	for p := range sc.phones {
		body := fmt.Sprintf(`{"phone_number":"1555%07d"}`, p)
		resp, err := http.Post(base+"/conversation/participants", "application/json", bytes.NewBufferString(body))
		if err != nil {
			return result{}, err
		}
		resp.Body.Close()
	}

	sampler, err := startSampler(ctx, server, dbName)
	if err != nil {
		return result{}, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: sc.senders}}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	next := atomic.Int64{}
	for range sc.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= sc.messages {
					return
				}
				wamid := fmt.Sprintf("wamid.in%d", i)
				mu.Lock()
				postedAt[wamid] = time.Now()
				mu.Unlock()
				if err := postWebhook(client, base, fmt.Sprintf("1555%07d", i%sc.phones), wamid); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		sampler.stop()
		return result{}, err
	case <-done:
	case <-time.After(10 * time.Minute):
		sampler.stop()
		mu.Lock()
		defer mu.Unlock()
		return result{}, fmt.Errorf("only %d of %d replies after 10 minutes", len(latencies), sc.messages)
	}
	elapsed := time.Since(start)
	use := sampler.stop()
	time.Sleep(200 * time.Millisecond) // a duplicate, if any, would show by now
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(latencies)
	return result{
		rate: float64(sc.messages) / elapsed.Seconds(),
		p50:  latencies[len(latencies)/2], p99: latencies[len(latencies)*99/100],
		duplicates: duplicates, db: use,
	}, nil
}

func postWebhook(client *http.Client, base, phone, wamid string) error {
	body := []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"100000000000001"},"messages":[{"from":%q,"id":%q,"timestamp":"1700000000","type":"text","text":{"body":"hi"}}]}}]}]}`, phone, wamid))
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", whatsapp.Sign(body, secret))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}

// dbUse is what delivery asked of Postgres during a run, sampled from pg_stat_activity.
type dbUse struct {
	connections, busy int           // most connections open, most of them not idle, at once
	longestTx         time.Duration // the oldest open transaction seen
	longestWhat       string        // what it was doing when seen: state, wait, statement
}

func (u dbUse) String() string {
	return fmt.Sprintf("postgres: %d connections (%d busy at most), longest transaction seen %s (%s)",
		u.connections, u.busy, ms(u.longestTx), u.longestWhat)
}

type sampler struct {
	stopc chan struct{}
	done  chan dbUse
}

// startSampler reads pg_stat_activity for database every 20 ms until stopped.
func startSampler(ctx context.Context, server, database string) (*sampler, error) {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return nil, err
	}
	s := &sampler{stopc: make(chan struct{}), done: make(chan dbUse, 1)}
	go func() {
		defer conn.Close(context.Background())
		var use dbUse
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var conns, busy int
			var longest float64
			var what string
			err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state <> 'idle'),
					COALESCE(max(extract(epoch FROM clock_timestamp() - xact_start)), 0),
					COALESCE((array_agg(state || ', ' || COALESCE(wait_event_type || ':' || wait_event, 'no wait') || ', ' ||
						left(regexp_replace(query, '\s+', ' ', 'g'), 50) ORDER BY xact_start) FILTER (WHERE xact_start IS NOT NULL))[1], '')
				FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, database).Scan(&conns, &busy, &longest, &what)
			if err == nil {
				use.connections, use.busy = max(use.connections, conns), max(use.busy, busy)
				if d := time.Duration(longest * float64(time.Second)); d > use.longestTx {
					use.longestTx, use.longestWhat = d, what
				}
			}
			select {
			case <-s.stopc:
				s.done <- use
				return
			case <-tick.C:
			}
		}
	}()
	return s, nil
}

func (s *sampler) stop() dbUse {
	close(s.stopc)
	return <-s.done
}

// rawHTTPHop is how many requests per second a Go client gets through a Go server that
// answers at once, on this machine: the floor under every hop of the pipeline.
func rawHTTPHop(requests, concurrency int) (float64, error) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	return timed(requests, concurrency, func() error {
		resp, err := client.Post(srv.URL, "application/json", strings.NewReader(`{"hello":"world"}`))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	})
}

// bareCommits is how many one-row transactions per second Postgres commits here.
func bareCommits(ctx context.Context, server string, commits, concurrency int) (float64, error) {
	dbURL, _, err := freshDatabase(ctx, server)
	if err != nil {
		return 0, err
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE t (id bigserial PRIMARY KEY, body text)`); err != nil {
		return 0, err
	}
	return timed(commits, concurrency, func() error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO t (body) VALUES ('hi')`)
			return err
		})
	})
}

// timed runs op n times, concurrency at once, and returns operations per second.
func timed(n, concurrency int, op func() error) (float64, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := op(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// serverSettings says how durable the server's commits are, since that sets their price.
func serverSettings(ctx context.Context, server string) (string, error) {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var version, fsync, syncCommit string
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync'),
		current_setting('synchronous_commit')`).Scan(&version, &fsync, &syncCommit); err != nil {
		return "", err
	}
	note := ""
	if fsync == "off" || syncCommit == "off" {
		note = " (a throwaway bench server: commits do not wait for the disk)"
	}
	return fmt.Sprintf("%s, fsync=%s, synchronous_commit=%s%s", version, fsync, syncCommit, note), nil
}

func freshDatabase(ctx context.Context, server string) (dbURL, name string, err error) {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", "", err
	}
	defer conn.Close(ctx)
	name = fmt.Sprintf("delivery_bench_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", "", err
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", "", err
	}
	u.Path = "/" + name
	return u.String(), name, nil
}

func waitReady(base string) error {
	for range 100 {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("delivery did not become ready")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
