package infratest

import (
	"bufio"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync/shared/connect"
	"github.com/crmsync/crmsync/shared/dashboard"
)

// docSources are where deployment instructions cite repository files: the
// deploy entry points, the Bicep modules, azd's project file and the guides.
var docSources = []string{"infra", "bicep", "azure.yaml", "README.md", "docs"}

// repoDirs are the top-level folders whose paths the documents cite.
var repoDirs = []string{"bicep", "docs", "functions", "infra", "local", "shared"}

var (
	// mdRef is a Markdown file name with an optional #anchor, e.g.
	// README.md#deploy-to-azure or docs/connections.md.
	mdRef = regexp.MustCompile(`(?:^|[^A-Za-z0-9_./#-])([A-Za-z0-9_][A-Za-z0-9_./-]*\.md)(#[A-Za-z0-9_-]+)?`)
	// dirRef is a path under one of repoDirs, e.g. `shared/lambdaadapter`.
	dirRef = regexp.MustCompile(`(?:^|[^A-Za-z0-9_./-])((?:` + strings.Join(repoDirs, "|") + `)/[A-Za-z0-9_./-]*)`)
)

// brokenDocRefs lists every repo-relative path (and Markdown #anchor) cited in
// the docSources under root that does not exist, as "file:line: …". Go
// sources are skipped: they are code, and tests name files that must not exist.
func brokenDocRefs(t *testing.T, root string) []string {
	t.Helper()
	var broken []string
	for _, src := range docSources {
		err := filepath.WalkDir(filepath.Join(root, src), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) && path == filepath.Join(root, src) {
					return nil
				}
				return err
			}
			if d.IsDir() || strings.HasSuffix(path, ".go") {
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			found, err := checkDocRefs(root, rel)
			broken = append(broken, found...)
			return err
		})
		if err != nil {
			t.Fatalf("reading %s: %v", src, err)
		}
	}
	return broken
}

// checkDocRefs checks the paths cited in one file, line by line.
func checkDocRefs(root, rel string) ([]string, error) {
	f, err := os.Open(filepath.Join(root, rel))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var broken []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		where := fmt.Sprintf("%s:%d", rel, n)
		for _, m := range mdRef.FindAllStringSubmatch(line, -1) {
			file, anchor := m[1], strings.TrimPrefix(m[2], "#")
			if first, _, nested := strings.Cut(file, "/"); nested && strings.Contains(first, ".") {
				continue // a host name: part of a URL, not a repository path
			}
			target := resolveDoc(root, rel, file)
			if target == "" {
				broken = append(broken, fmt.Sprintf("%s: cites %s, which does not exist", where, file))
				continue
			}
			if anchor != "" {
				ok, err := hasAnchor(filepath.Join(root, target), anchor)
				if err != nil {
					return nil, err
				}
				if !ok {
					broken = append(broken, fmt.Sprintf("%s: cites %s#%s, but %s has no such heading", where, file, anchor, target))
				}
			}
		}
		for _, m := range dirRef.FindAllStringSubmatch(line, -1) {
			p := strings.TrimRight(m[1], ".,;:")
			if strings.HasSuffix(p, ".md") {
				continue // checked above, with its anchor
			}
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				broken = append(broken, fmt.Sprintf("%s: cites %s, which does not exist", where, p))
			}
		}
	}
	return broken, sc.Err()
}

// resolveDoc finds a cited Markdown file relative to the repository root or,
// as Markdown links are, to the citing file's folder. It returns the
// root-relative path, or "" when neither exists.
func resolveDoc(root, from, file string) string {
	for _, cand := range []string{file, filepath.Join(filepath.Dir(from), file)} {
		if _, err := os.Stat(filepath.Join(root, cand)); err == nil {
			return cand
		}
	}
	return ""
}

// hasAnchor reports whether a Markdown file has a heading whose GitHub anchor
// is anchor.
func hasAnchor(path, anchor string) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		if headingAnchor(strings.TrimLeft(line, "#")) == strings.ToLower(anchor) {
			return true, nil
		}
	}
	return false, nil
}

// headingAnchor is the anchor GitHub gives a heading: lower case, spaces to
// hyphens, punctuation other than '-' and '_' dropped.
func headingAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestCitedDocsExist checks that every repository path the deployment files
// and guides cite exists — deploy.sh prints one to users at the end of a
// deployment — and that a cited #section is a heading of that file.
func TestCitedDocsExist(t *testing.T) {
	for _, b := range brokenDocRefs(t, repoRoot(t)) {
		t.Error(b)
	}
}

// TestBrokenDocRefsReported proves the check can fail: a missing guide, a
// missing section and a missing package are each reported with file and line,
// and a URL is not mistaken for a path.
func TestBrokenDocRefsReported(t *testing.T) {
	root := t.TempDir()
	for path, content := range map[string]string{
		"README.md":           "# crmsync\n\n## Deploy to Azure\n\nSee `docs/guide.md`.\n",
		"docs/guide.md":       "# Guide\n",
		"shared/real/doc.txt": "",
		"infra/deploy.sh": "# see docs/missing.md\n# see README.md#deploy-to-azure and README.md#no-such-section\n" +
			"# code in shared/real and shared/gone\n# https://github.com/x/y/blob/main/README.md\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, path), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := brokenDocRefs(t, root)
	sort.Strings(got)
	want := []string{
		"infra/deploy.sh:1: cites docs/missing.md, which does not exist",
		"infra/deploy.sh:2: cites README.md#no-such-section, but README.md has no such heading",
		"infra/deploy.sh:3: cites shared/gone, which does not exist",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("broken references (-want +got):\n%s", diff)
	}
}

// callbackPath is an OAuth redirect path as the guides and the deployment
// outputs cite it.
var callbackPath = regexp.MustCompile(`/api/dashboard/[A-Za-z0-9_/-]*callback[A-Za-z0-9_/-]*`)

// TestCitedRedirectURIsAreRoutes checks every redirect URI the guides, the
// template outputs and deploy.sh's closing message tell people to register
// against the routes the dashboard and its connect flows serve, so a
// registration made from the docs matches what the code sends.
func TestCitedRedirectURIsAreRoutes(t *testing.T) {
	root := repoRoot(t)
	mux := http.NewServeMux()
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, r := range (&dashboard.Handler{}).Routes() {
		// The catch-alls (the home page, the connect subtree) would match any
		// path; the connect flows' own routes stand in for the subtree.
		if r.Method == http.MethodGet && !strings.HasSuffix(r.Path, "/") && !strings.HasSuffix(r.Path, "...}") {
			mux.Handle("GET "+r.Path, noop)
		}
	}
	for _, r := range (&connect.Handler{}).Routes() {
		if r.Method == http.MethodGet {
			mux.Handle("GET "+dashboard.Prefix+"/connect"+r.Path, noop)
		}
	}
	// The sign-in and connection providers functions/wire.go configures.
	providers := map[string]bool{"microsoft": true, "salesforce": true, "google": true}

	files := []string{"README.md", "infra/deploy.sh", "infra/main.bicep"}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		rel, _ := filepath.Rel(root, d)
		files = append(files, rel)
	}
	cited := 0
	for _, rel := range files {
		for n, line := range strings.Split(string(mustRead(t, filepath.Join(root, rel))), "\n") {
			for _, path := range callbackPath.FindAllString(line, -1) {
				cited++
				req := httptest.NewRequest(http.MethodGet, path, nil)
				_, pattern := mux.Handler(req)
				if !strings.HasSuffix(pattern, "/callback") {
					t.Errorf("%s:%d: cites redirect URI path %s, which no callback route serves (got route %q)", rel, n+1, path, pattern)
					continue
				}
				mux.ServeHTTP(httptest.NewRecorder(), req) // sets the path values
				if p := req.PathValue("provider"); !providers[p] {
					t.Errorf("%s:%d: cites redirect URI path %s for provider %q, want one of google, microsoft, salesforce", rel, n+1, path, p)
				}
			}
		}
	}
	if cited == 0 {
		t.Error("found no cited redirect URI at all; the pattern no longer matches how the docs write them")
	}
}
