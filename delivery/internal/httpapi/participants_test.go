package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"promptpipe/delivery/internal/httpapi"
	"promptpipe/delivery/internal/metrics"
)

func TestParticipantsAPIMatchesPromptPipe(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	cases := []struct {
		method, path string
		body         any
		code         int
		message      string
	}{
		{"GET", "/conversation/participants", nil, 200, ""},
		{"POST", "/conversation/participants", "{", 400, "Invalid JSON format"},
		{"POST", "/conversation/participants", map[string]string{"name": "x"}, 400, "phone_number is required"},
		{"POST", "/conversation/participants", map[string]string{"phone_number": "12-34"}, 400, "Invalid phone number: phone number must be E.164: 6 to 15 digits, optionally after a +"},
		{"POST", "/conversation/participants", map[string]string{"phone_number": "15551230000", "timezone": "Mars/Base"}, 400, "invalid timezone"},
		{"POST", "/conversation/participants", map[string]string{"phone_number": "+1 (555) 123-0000", "timezone": "America/Toronto"}, 201, "Conversation participant enrolled successfully"},
		{"POST", "/conversation/participants", map[string]string{"phone_number": "15551230000"}, 409, "Participant with this phone number already enrolled"},
		{"GET", "/conversation/participants/p_missing", nil, 404, "Participant not found"},
		{"PUT", "/conversation/participants/p_missing", map[string]string{"name": "x"}, 404, "Participant not found"},
		{"DELETE", "/conversation/participants/p_missing", nil, 404, "Participant not found"},
		{"PATCH", "/conversation/participants", nil, 405, "Method not allowed"},
	}
	for _, c := range cases {
		code, body := h.do(c.method, c.path, c.body, nil)
		if code != c.code {
			t.Errorf("%s %s: code %d, want %d (%v)", c.method, c.path, code, c.code, body)
		}
		if c.message != "" && body["message"] != c.message {
			t.Errorf("%s %s: message %q, want %q", c.method, c.path, body["message"], c.message)
		}
	}
	_, list := h.do("GET", "/conversation/participants", nil, nil)
	people := list["result"].([]any)
	if len(people) != 1 {
		t.Fatalf("list = %v", list)
	}
	p := people[0].(map[string]any)
	if p["phone_number"] != "15551230000" || p["timezone"] != "America/Toronto" || p["status"] != "active" {
		t.Fatalf("participant = %v", p)
	}
	id := p["id"].(string)
	code, upd := h.do("PUT", "/conversation/participants/"+id, map[string]string{"status": "sleeping"}, nil)
	if code != 400 {
		t.Fatalf("bad status: %d %v", code, upd)
	}
	code, upd = h.do("PUT", "/conversation/participants/"+id, map[string]string{"status": "paused", "timezone": "Europe/Paris"}, nil)
	res := upd["result"].(map[string]any)
	if code != 200 || res["status"] != "paused" || res["timezone"] != "Europe/Paris" || res["name"] != nil {
		t.Fatalf("update: %d %v", code, upd)
	}
	if code, _ := h.do("DELETE", "/conversation/participants/"+id, nil, nil); code != 200 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := h.do("GET", "/conversation/participants/"+id, nil, nil); code != 404 {
		t.Fatalf("after delete: %d", code)
	}
}

func TestAdminTokenProtectsTheAdminAPIOnly(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	srv := &httpapi.Server{Store: h.db, Metrics: metrics.New(), APIToken: "s3cret", Clock: h.clock}
	api := httptest.NewServer(srv.Routes())
	defer api.Close()
	get := func(path, auth string) int {
		req, _ := http.NewRequest("GET", api.URL+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/conversation/participants", ""); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code := get("/conversation/participants", "Bearer wrong"); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	if code := get("/conversation/participants", "Bearer s3cret"); code != 200 {
		t.Errorf("right token: %d", code)
	}
	if code := get("/healthz", ""); code != 200 {
		t.Errorf("healthz needs no token: %d", code)
	}
}
