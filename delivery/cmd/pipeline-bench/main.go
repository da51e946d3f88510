// Command pipeline-bench measures how many messages per second the delivery binary turns
// from signed webhooks into sent replies, with an instant fake agent and fake WhatsApp, for
// one worker (the baseline) and for several. Run it through scripts/bench.
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
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

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
	messages := fs.Int("messages", 2000, "messages per run")
	phones := fs.Int("phones", 50, "participants sending them")
	workers := fs.Int("workers", 4, "workers of the measured run (the baseline has 1)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	server := getenv("TEST_DATABASE_URL")
	if server == "" {
		return fmt.Errorf("TEST_DATABASE_URL must name a Postgres server the bench may create databases in")
	}
	var rates []float64
	for _, w := range []int{1, *workers} {
		rate, err := measure(ctx, *binary, server, w, *messages, *phones)
		if err != nil {
			return fmt.Errorf("workers=%d: %w", w, err)
		}
		rates = append(rates, rate)
		fmt.Fprintf(stdout, "workers=%d messages=%d phones=%d: %.0f messages/s\n", w, *messages, *phones, rate)
	}
	fmt.Fprintf(stdout, "ratio workers=%d / workers=1: %.2fx\n", *workers, rates[1]/rates[0])
	return nil
}

// measure starts delivery against fresh fakes and a fresh database, sends the webhooks and
// returns replies sent per second, from the first webhook to the last send.
func measure(ctx context.Context, binary, server string, workers, messages, phones int) (float64, error) {
	dbURL, err := freshDatabase(ctx, server)
	if err != nil {
		return 0, err
	}
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, `{"response":"ok","state":"INTAKE","metadata":{}}`)
	}))
	defer agent.Close()
	var sent atomic.Int64
	done := make(chan struct{})
	wa := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var payload struct {
			Status string `json:"status"`
		}
		_ = json.NewDecoder(r.Body).Decode(&payload)
		if payload.Status == "read" { // delivery's read receipt: answered as Meta does, not a reply
			fmt.Fprint(w, `{"success":true}`)
			return
		}
		n := sent.Add(1)
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.b%d"}]}`, n)
		if n == int64(messages) {
			close(done)
		}
	}))
	defer wa.Close()
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "DELIVERY_ADDR="+addr, "DELIVERY_LOG_LEVEL=error",
		fmt.Sprintf("DELIVERY_WORKERS=%d", workers), "PYTHON_AGENT_URL="+agent.URL,
		"WHATSAPP_API_URL="+wa.URL+"/v21.0", "WHATSAPP_APP_SECRET="+secret, "DEV_CLOCK=false")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://" + addr
	if err := waitReady(base); err != nil {
		return 0, err
	}
	for p := range phones {
		body := fmt.Sprintf(`{"phone_number":"1555%07d"}`, p)
		resp, err := http.Post(base+"/conversation/participants", "application/json", bytes.NewBufferString(body))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	next := atomic.Int64{}
	for range 16 { // concurrent webhook senders, as Meta's would be
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= messages {
					return
				}
				if err := postWebhook(base, fmt.Sprintf("1555%07d", i%phones), fmt.Sprintf("wamid.in%d", i)); err != nil {
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
		return 0, err
	case <-done:
	case <-time.After(5 * time.Minute):
		return 0, fmt.Errorf("only %d of %d replies sent after 5 minutes", sent.Load(), messages)
	}
	return float64(messages) / time.Since(start).Seconds(), nil
}

func postWebhook(base, phone, wamid string) error {
	body := []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"100000000000001"},"messages":[{"from":%q,"id":%q,"timestamp":"1700000000","type":"text","text":{"body":"hi"}}]}}]}]}`, phone, wamid))
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/whatsapp", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", whatsapp.Sign(body, secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}

func freshDatabase(ctx context.Context, server string) (string, error) {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("delivery_bench_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
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
