package archtest

import (
	"bufio"
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// A rule says which packages (by their path in the module, such as "internal/store")
// may not import which others; see doc.go for the reasons.
type rule struct {
	name string
	// from: the packages the rule is about; a trailing "/" matches a folder's packages.
	from []string
	// except: packages among from that the rule leaves alone.
	except []string
	// forbidden: delivery packages (in all the package depends on) or import paths of
	// other modules (in the package's own imports); a trailing "/" matches a prefix.
	forbidden []string
}

var internal = []string{
	"internal/agent", "internal/arms", "internal/clock", "internal/config", "internal/devevents",
	"internal/fallback", "internal/httpapi", "internal/inbound", "internal/jobs", "internal/metrics",
	"internal/outbox", "internal/phone", "internal/queue", "internal/retry", "internal/rollout",
	"internal/shadow", "internal/store", "internal/whatsapp",
}

var rules = []rule{
	{
		name:      "only cmd/ imports httpapi",
		from:      []string{"internal/"},
		except:    []string{"internal/httpapi"},
		forbidden: []string{"internal/httpapi"},
	},
	{
		name:      "net/http only where delivery serves or calls over HTTP",
		from:      []string{"internal/"},
		except:    []string{"internal/httpapi", "internal/agent", "internal/whatsapp", "internal/retry"},
		forbidden: []string{"net/http", "net/http/"},
	},
	{
		name:      "the database only through store, queue and clock",
		from:      []string{"internal/"},
		except:    []string{"internal/store", "internal/queue", "internal/clock", "internal/pgtest"},
		forbidden: []string{"github.com/jackc/"},
	},
	{
		name:      "queue knows nothing of what its tasks are about",
		from:      []string{"internal/queue"},
		forbidden: without(internal, "internal/queue", "internal/retry"),
	},
	{
		name:      "store decides nothing and calls no one",
		from:      []string{"internal/store"},
		forbidden: []string{"internal/inbound", "internal/outbox", "internal/jobs", "internal/agent", "internal/httpapi"},
	},
	{
		name: "the clients of other services know nothing of storage or workers",
		from: []string{"internal/agent", "internal/whatsapp"},
		forbidden: []string{
			"internal/store", "internal/queue", "internal/clock", "internal/inbound",
			"internal/outbox", "internal/jobs", "internal/httpapi",
		},
	},
	{
		name:      "replies leave through outbox, which no producer of replies is beneath",
		from:      []string{"internal/outbox"},
		forbidden: []string{"internal/inbound", "internal/jobs"},
	},
	{
		name:      "inbound and jobs do not depend on each other",
		from:      []string{"internal/inbound"},
		forbidden: []string{"internal/jobs"},
	},
	{
		name:      "inbound and jobs do not depend on each other",
		from:      []string{"internal/jobs"},
		forbidden: []string{"internal/inbound"},
	},
	{
		name: "the foundations import no other delivery package",
		from: []string{
			"internal/config", "internal/phone", "internal/retry", "internal/devevents",
			"internal/metrics",
		},
		forbidden: []string{"internal/"},
	},
}

func TestDeliveryKeepsItsImportRules(t *testing.T) {
	graph, err := load(moduleRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range internal {
		if _, ok := graph.imports[want]; !ok {
			t.Errorf("no package %s: update the rules in this test and doc.go", want)
		}
	}
	for _, problem := range graph.violations(rules) {
		t.Error(problem)
	}
}

func TestABrokenRuleIsReported(t *testing.T) {
	g := &importGraph{
		module: "example/delivery",
		imports: map[string][]string{
			"internal/store":    {"context", "example/delivery/internal/whatsapp"},
			"internal/whatsapp": {"net/http", "example/delivery/internal/outbox"},
			"internal/outbox":   {"github.com/jackc/pgx/v5"},
		},
	}
	got := g.violations([]rule{
		{name: "indirect", from: []string{"internal/store"}, forbidden: []string{"internal/outbox"}},
		{name: "direct only", from: []string{"internal/"}, except: []string{"internal/whatsapp"}, forbidden: []string{"net/http"}},
		{name: "prefix", from: []string{"internal/"}, forbidden: []string{"github.com/jackc/"}},
	})
	want := []string{
		"indirect: internal/store depends on internal/outbox (through internal/whatsapp)",
		"prefix: internal/outbox imports github.com/jackc/pgx/v5",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n got %q\nwant %q", got, want)
	}
}

// importGraph holds what each of the module's packages imports in its non-test files.
type importGraph struct {
	module  string
	imports map[string][]string // package path in the module → import paths
}

// load reads every package under root (the module's folder) with go/build, which
// applies build constraints as the compiler would.
func load(root string) (*importGraph, error) {
	module, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	g := &importGraph{module: module, imports: map[string][]string{}}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			var none *build.NoGoError
			if errors.As(err, &none) {
				return nil
			}
			return fmt.Errorf("reading %s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		g.imports[filepath.ToSlash(rel)] = pkg.Imports
		return nil
	})
	return g, err
}

// violations lists every broken rule, one line each, in a stable order.
func (g *importGraph) violations(rules []rule) []string {
	var out []string
	packages := make([]string, 0, len(g.imports))
	for p := range g.imports {
		packages = append(packages, p)
	}
	sort.Strings(packages)
	for _, r := range rules {
		for _, p := range packages {
			if !matches(p, r.from) || slices.Contains(r.except, p) {
				continue
			}
			for _, imp := range g.imports[p] {
				if !strings.HasPrefix(imp, g.module+"/") && matches(imp, r.forbidden) {
					out = append(out, fmt.Sprintf("%s: %s imports %s", r.name, p, imp))
				}
			}
			for _, dep := range g.dependencies(p) {
				if matches(dep.pkg, r.forbidden) {
					line := fmt.Sprintf("%s: %s depends on %s", r.name, p, dep.pkg)
					if dep.via != "" {
						line += " (through " + dep.via + ")"
					}
					out = append(out, line)
				}
			}
		}
	}
	return out
}

type dependency struct{ pkg, via string }

// dependencies lists the module's packages that p depends on, directly or not, each
// with the direct import it is reached through (empty when p imports it itself).
func (g *importGraph) dependencies(p string) []dependency {
	seen := map[string]bool{p: true}
	var out []dependency
	var walk func(pkg, via string)
	walk = func(pkg, via string) {
		for _, imp := range g.imports[pkg] {
			dep, ok := strings.CutPrefix(imp, g.module+"/")
			if !ok || seen[dep] {
				continue
			}
			seen[dep] = true
			through := via
			if pkg == p {
				through = ""
			} else if through == "" {
				through = pkg
			}
			out = append(out, dependency{dep, through})
			walk(dep, through)
		}
	}
	walk(p, "")
	return out
}

func matches(path string, patterns []string) bool {
	for _, pattern := range patterns {
		if path == pattern || (strings.HasSuffix(pattern, "/") && strings.HasPrefix(path, pattern)) {
			return true
		}
	}
	return false
}

func without(all []string, drop ...string) []string {
	var out []string
	for _, p := range all {
		if !slices.Contains(drop, p) {
			out = append(out, p)
		}
	}
	return out
}

func modulePath(goMod string) (string, error) {
	f, err := os.Open(goMod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(scanner.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("%s names no module", goMod)
}

// moduleRoot is delivery's folder: go test runs in the package's own folder.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("delivery's go.mod not found from %s: %v", root, err)
	}
	return root
}
