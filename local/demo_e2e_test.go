package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/shared/session"
	"github.com/crmsync/crmsync/shared/tablestore"
)

// lockedBuffer collects a process's output from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool, logs ...*lockedBuffer) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			tail := ""
			for _, l := range logs {
				s := l.String()
				tail += s[max(0, len(s)-6000):]
			}
			t.Fatalf("timed out waiting for %s\n%s", what, tail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// reports reads every stored session report of every user.
func reports(t *testing.T, data string) []session.Report {
	t.Helper()
	st, err := tablestore.OpenEmbedded(filepath.Join(data, "tables.sqlite"))
	if err != nil {
		// The running host and handler write the same file; a reader that
		// finds it busy past the timeout on a loaded machine reads again on
		// the next poll rather than failing the test.
		t.Logf("reading reports: %v", err)
		return nil
	}
	defer st.Close()
	page, err := st.Query(context.Background(), session.SessionsTable, tablestore.Query{})
	if err != nil {
		return nil
	}
	var out []session.Report
	seen := map[string]bool{}
	for _, e := range page.Entities {
		if seen[e.PartitionKey] {
			continue
		}
		seen[e.PartitionKey] = true
		r, err := session.NewState(st, e.PartitionKey).Reports(context.Background(), 100)
		if err != nil {
			t.Logf("reading reports: %v", err)
			return nil
		}
		out = append(out, r...)
	}
	return out
}

// TestDemoEndToEnd is `make run` in a test: the local host with the real
// handler binary, embedded storage and the demo world. The demo user's CRM
// and mailbox sync at start (contacts, tasks, events both ways, a shared
// e-mail with its attachment), the mailbox subscriptions are created through
// the local host's webhook, and a contact added in the local Graph reaches
// Salesforce through a push notification — webhook, queue, session.
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the handler binary")
	}
	dir := t.TempDir()
	app, data := filepath.Join(dir, "app"), filepath.Join(dir, "data")
	var out, logs lockedBuffer
	if err := pack(context.Background(), []string{"-out", app, "-native", "-nozip", "-root", ".."}, &out, &logs); err != nil {
		t.Fatalf("staging: %v\n%s", err, logs.String())
	}
	// make run shows this while the handler builds, so a newcomer sees work, not a silent minute.
	if !strings.Contains(out.String(), "building the handler") {
		t.Errorf("package printed nothing about building the handler:\n%s", out.String())
	}
	// A data folder that already exists, readable by others (an older build
	// made it 0755): serve makes it the owner's only.
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"local", "serve", "-app", app, "-data", data, "-addr", "127.0.0.1:0", "-demo",
			"-salesforce-addr", "127.0.0.1:0", "-graph-addr", "127.0.0.1:0", "-idp-addr", "127.0.0.1:0"},
			func(string) string { return "" }, &out, &logs)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitFor(t, "the first session", 60*time.Second, func() bool {
		return strings.Contains(logs.String(), `"msg":"session done"`)
	})
	var first session.Report
	waitFor(t, "the first session's report", 10*time.Second, func() bool {
		for _, r := range reports(t, data) {
			if r.Reason == "manual" {
				first = r
				return true
			}
		}
		return false
	})
	for _, k := range []string{"contact|to-mailbox|create", "contact|to-crm|create", "task|to-mailbox|create", "task|to-crm|create",
		"event|to-mailbox|create", "event|to-crm|create", "email|to-crm|share", "file|to-crm|create"} {
		if first.Counts[k] == 0 {
			t.Errorf("first session moved no %s: %v", k, first.Counts)
		}
	}
	if first.Outcome != "ok" {
		t.Errorf("first session %q: %s", first.Outcome, first.Detail)
	}
	checkPrivate(t, data)

	// Push: wait for the subscriptions, then add a contact in the mailbox.
	graph := regexp.MustCompile(`local Graph (http://[0-9.:]+)`).FindStringSubmatch(out.String())
	if graph == nil {
		t.Fatalf("no local Graph URL in the output:\n%s", out.String())
	}
	token := appToken(t, graph[1])
	waitFor(t, "mailbox subscriptions", 20*time.Second, func() bool {
		var subs struct {
			Value []json.RawMessage `json:"value"`
		}
		graphDo(t, "GET", graph[1]+"/v1.0/subscriptions", token, "", &subs)
		return len(subs.Value) > 0
	})
	var folders struct {
		Value []struct {
			ID          string `json:"id"`
			DisplayName string `json:"displayName"`
		} `json:"value"`
	}
	graphDo(t, "GET", graph[1]+"/v1.0/users/"+fakegraph.DemoUser+"/contactFolders", token, "", &folders)
	folder := ""
	for _, f := range folders.Value {
		if f.DisplayName == "Business Contacts" {
			folder = f.ID
		}
	}
	if folder == "" {
		t.Fatalf("no Business Contacts folder: %+v", folders)
	}
	graphDo(t, "POST", graph[1]+"/v1.0/users/"+fakegraph.DemoUser+"/contactFolders/"+folder+"/contacts", token,
		`{"givenName":"Pushy","surname":"McPush","emailAddresses":[{"address":"pushy@example.org"}]}`, nil)
	// The push starts a session at once (or, when it finds the first session
	// still running, after the busy wait). A scheduled session may pick the
	// change up first; either way the contact reaches Salesforce once and a
	// push-started session runs.
	waitFor(t, "a session started by the push, and the contact in Salesforce", 150*time.Second, func() bool {
		// An idle session stores no report, so the push session is found in the log.
		pushed, created := strings.Contains(logs.String(), `"reason":"push"`), 0
		for _, r := range reports(t, data) {
			created += r.Counts["contact|to-crm|create"]
		}
		return pushed && created == first.Counts["contact|to-crm|create"]+1
	}, &logs)
	// Mailbox → CRM latency by push, measured (not asserted: speeds are
	// figures, not pass marks): more contacts one at a time, each timed from
	// its creation in the mailbox to the stored report of the session that
	// created it in Salesforce.
	want := first.Counts["contact|to-crm|create"] + 1
	var lat []time.Duration
	for i := range 5 {
		start := time.Now()
		graphDo(t, "POST", graph[1]+"/v1.0/users/"+fakegraph.DemoUser+"/contactFolders/"+folder+"/contacts", token,
			fmt.Sprintf(`{"givenName":"Latency%d","surname":"Probe","emailAddresses":[{"address":"probe%d@example.org"}]}`, i, i), nil)
		want++
		waitFor(t, fmt.Sprintf("pushed contact %d in Salesforce", i), 150*time.Second, func() bool {
			created := 0
			for _, r := range reports(t, data) {
				created += r.Counts["contact|to-crm|create"]
			}
			return created == want
		}, &logs)
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("mailbox → CRM by push: p50 %v, all %v", lat[len(lat)/2].Round(10*time.Millisecond), lat)
	salesforceToMailbox(t, out.String(), data, &logs)
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("the handler logged errors:\n%s", logs.String())
	}
}

// salesforceToMailbox: a contact added in the local Salesforce reaches the
// mailbox through the organisation's change detector — its timer's tick
// requests the demo user's session for a CRM change — with no scheduled
// session in between (the detector stretched the schedule to the safety
// net). The latency is logged, not asserted.
func salesforceToMailbox(t *testing.T, out, data string, logs *lockedBuffer) {
	t.Helper()
	sf := regexp.MustCompile(`local Salesforce (http://[0-9.:]+)`).FindStringSubmatch(out)
	if sf == nil {
		t.Fatalf("no local Salesforce URL in the output:\n%s", out)
	}
	resp, err := http.PostForm(sf[1]+"/services/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {"crmsync-local"},
		"username": {fakesalesforce.DemoUsername}, "password": {fakesalesforce.DemoPassword}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("Salesforce token: %v", err)
	}
	created := func() int {
		n := 0
		for _, r := range reports(t, data) {
			n += r.Counts["contact|to-mailbox|create"]
		}
		return n
	}
	before, requested := created(), strings.Count(logs.String(), `"reason":"crm-change"`)
	start := time.Now()
	graphDo(t, "POST", sf[1]+"/services/data/v66.0/sobjects/Contact", tok.AccessToken,
		`{"FirstName":"Dora","LastName":"Detected","Email":"dora@example.org"}`, nil)
	// The detector's tick requests the owner's session; a scheduled session
	// due meanwhile (the demo user's first, set before the detector came
	// up) may move the contact first — either way it reaches the mailbox
	// once and a crm-change session runs.
	waitFor(t, "a crm-change session, and the Salesforce contact in the mailbox", 150*time.Second, func() bool {
		return strings.Count(logs.String(), `"reason":"crm-change"`) > requested && created() == before+1
	}, logs)
	t.Logf("Salesforce → mailbox through the change detector: the crm-change session ran %v after the change (the timer ticks as each minute turns; a change waits for the minute it was made in to end, and a change made before the organisation's first poll waits for the second)",
		time.Since(start).Round(10*time.Millisecond))
}

func appToken(t *testing.T, graph string) string {
	t.Helper()
	resp, err := http.PostForm(graph+"/demo-tenant/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"e2e"}, "client_secret": {"e2e"}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("app token: %v %+v", err, tok)
	}
	return tok.AccessToken
}

func graphDo(t *testing.T, method, u, token, body string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(fmt.Errorf("%s %s: %w", method, u, err))
		}
	}
}

// checkPrivate asserts the data folder is 0700 and nothing in it (SQLite
// files with their -wal and -shm, keys, key ring, secrets) is open to the
// group or others.
func checkPrivate(t *testing.T, data string) {
	t.Helper()
	err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed meanwhile (a -wal checkpointed away)
		}
		if d.IsDir() {
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("folder %s is %o, want 0700", path, fi.Mode().Perm())
			}
			return nil
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %o, want no access for group or others", path, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
