package httpapi_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"promptpipe/delivery/internal/httpapi"
)

// serve runs handler behind NewHTTPServer with the given timeouts on a free port.
func serve(t *testing.T, timeouts httpapi.Timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte("ok"))
	})
	srv := httpapi.NewHTTPServer(ln.Addr().String(), handler, timeouts)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// closedWithin reports whether the server ends the connection within d.
func closedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.ReadAll(conn)
	var netErr net.Error
	return err == nil || !(errors.As(err, &netErr) && netErr.Timeout())
}

func TestDefaultTimeoutsBoundEveryPhase(t *testing.T) {
	d := httpapi.DefaultTimeouts
	if d.ReadHeader <= 0 || d.Read <= 0 || d.Write <= 0 || d.Idle <= 0 {
		t.Fatalf("a phase without a timeout: %+v", d)
	}
	srv := httpapi.NewHTTPServer(":0", http.NotFoundHandler(), d)
	if srv.ReadTimeout != d.Read || srv.WriteTimeout != d.Write || srv.IdleTimeout != d.Idle || srv.ReadHeaderTimeout != d.ReadHeader || srv.MaxHeaderBytes == 0 {
		t.Fatalf("server does not use the timeouts: %+v", srv)
	}
}

// A client that sends its body slowly does not hold a connection for ever.
func TestASlowBodyIsCutOff(t *testing.T) {
	addr := serve(t, httpapi.Timeouts{ReadHeader: time.Second, Read: 300 * time.Millisecond, Write: time.Second, Idle: time.Second})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"object\":")
	if !closedWithin(conn, 5*time.Second) {
		t.Fatal("connection still open with the body unfinished")
	}
}

// An idle keep-alive connection is closed.
func TestAnIdleKeepAliveIsClosed(t *testing.T) {
	addr := serve(t, httpapi.Timeouts{ReadHeader: time.Second, Read: time.Second, Write: time.Second, Idle: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if !closedWithin(conn, 5*time.Second) {
		t.Fatal("idle keep-alive connection still open")
	}
}
