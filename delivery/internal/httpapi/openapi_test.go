package httpapi_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPIDescribesEveryRoute reads the patterns registered in routes.go and checks
// that the document has each method and path, so neither can drift from the other.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	h := newHarness(t, (&echoAgent{}).ServeHTTP)
	code, doc := h.do("GET", "/openapi.json", nil, nil)
	if code != 200 || doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: %d", code)
	}
	paths := doc["paths"].(map[string]any)
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`"(GET|POST|PUT|DELETE) (/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) < 20 {
		t.Fatalf("found only %d routes in routes.go", len(routes))
	}
	for _, r := range routes {
		item, found := paths[r[2]].(map[string]any)
		if !found || item[strings.ToLower(r[1])] == nil {
			t.Errorf("%s %s is not in openapi.json", r[1], r[2])
		}
	}
	if _, err := json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
}
