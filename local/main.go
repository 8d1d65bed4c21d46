// Command local is crmsync's local and on-premises runtime: it hosts the
// function app the way Azure Functions does (serve), stages a deployable app
// (package), and runs the local Salesforce and Graph servers on their own.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/crmsync/crmsync/local/demo"
	"github.com/crmsync/crmsync/local/fakec4c"
	"github.com/crmsync/crmsync/local/fakegoogle"
	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/local/host"
	"github.com/crmsync/crmsync/local/stage"
	"github.com/crmsync/crmsync/shared/keyring"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/redact"
	"github.com/crmsync/crmsync/shared/settings"
	"github.com/crmsync/crmsync/shared/tablestore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "crmsync local:", err)
		os.Exit(1)
	}
}

const usage = `usage: local <command> [flags]

commands:
  serve             run the function app (default when no command is given)
  package           stage a deployable app folder and zip
  fake-salesforce   run the local Salesforce server
  fake-graph        run the local Microsoft Graph server
  fake-c4c          run the local SAP Cloud for Customer server
  fake-google       run the local Google Workspace server (People, Calendar, Tasks, Gmail)

run "local <command> -h" for a command's flags`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr, serveHooks{})
	case "package":
		return pack(ctx, rest, stdout, stderr)
	case "fake-salesforce":
		return fakesalesforce.Main(ctx, rest, stdout)
	case "fake-graph":
		return fakegraph.Main(ctx, rest, stdout)
	case "fake-c4c":
		return fakec4c.Main(ctx, rest, stdout)
	case "fake-google":
		return fakegoogle.Main(ctx, rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

// serveHooks let a test reach into a running serve: demo sees the demo world
// before the host starts (to inject faults into its servers), started sees
// the running host. Both may be nil.
type serveHooks struct {
	demo    func(*demo.World)
	started func(*host.Host)
}

// serve hosts the app until ctx ends.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, hooks serveHooks) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	appDir := fs.String("app", ".run/app", "staged function app folder (host.json, <function>/function.json, handler binary)")
	addr := fs.String("addr", "127.0.0.1:7071", "address HTTP triggers are served on")
	data := fs.String("data", ".crmsync-data", "folder for embedded storage and the keys file")
	storage := fs.String("storage", "embedded", `"embedded" (SQLite in --data), "azurite" (development storage on its default ports) or an Azure Storage connection string`)
	keysFile := fs.String("keys", "", "function keys file (default <data>/host-keys.json)")
	demo := fs.Bool("demo", false, "run the demo world: a seeded local Salesforce, Graph and identity provider, and a connected demo user")
	sfAddr := fs.String("salesforce-addr", "127.0.0.1:8801", "with -demo: address of the local Salesforce")
	graphAddr := fs.String("graph-addr", "127.0.0.1:8802", "with -demo: address of the local Microsoft Graph")
	idpAddr := fs.String("idp-addr", "127.0.0.1:8803", "with -demo: address of the local identity provider")
	demoCRM := fs.String("crm", settings.CRMSalesforce, "with -demo: the demo's CRM, salesforce or c4c (the local SAP Cloud for Customer, on -salesforce-addr)")
	demoMailbox := fs.String("mailbox", settings.MailboxMicrosoft, "with -demo: the demo's mailbox, microsoft or google (the local Google, on -graph-addr)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	// The same redaction as the handler's log (functions/main.go): the host
	// and the demo world log errors that may carry URLs, headers or tokens.
	log := slog.New(redact.NewHandler(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))

	if _, err := os.Stat(filepath.Join(*appDir, "host.json")); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no function app at %s: run `make run`, or stage one with `go run ./local package -out %s -native`", *appDir, *appDir)
	}
	app, err := host.LoadApp(*appDir)
	if err != nil {
		return err
	}
	st, err := storageSettings(*storage, *data)
	if err != nil {
		return err
	}
	// The data folder holds the SQLite stores, the key ring and the function
	// keys: the owner's only, also when it already exists (0700).
	absData, err := filepath.Abs(*data)
	if err != nil {
		return err
	}
	if err := host.PrivateDir(absData); err != nil {
		return err
	}
	env := []string{settings.NameStorage + "=" + st.Storage, settings.NameLogLevel + "=" + *logLevel}
	if st.Storage == settings.StorageEmbedded {
		abs, err := filepath.Abs(st.DataDir)
		if err != nil {
			return err
		}
		st.DataDir = abs
		env = append(env, settings.NameDataDir+"="+abs)
	} else {
		env = append(env, settings.NameConnection+"="+st.ConnectionString)
	}
	q, closeQueue, err := openQueue(st)
	if err != nil {
		return err
	}
	defer closeQueue()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	public := "http://" + ln.Addr().String()
	env = append(env, settings.NamePublicURL+"="+public)
	ringPath := filepath.Join(absData, "keyring.json")
	if st.Storage != settings.StorageEmbedded {
		// Azure Storage needs the secrets an Azure deployment sets; locally
		// they live in the data folder.
		key, err := localSecret(filepath.Join(absData, "session.key"))
		if err != nil {
			ln.Close()
			return err
		}
		env = append(env, settings.NameKeyRing+"="+ringPath, settings.NameSessionKey+"="+key)
	}
	if *demo {
		if *demoCRM != settings.CRMSalesforce && *demoCRM != settings.CRMC4C {
			ln.Close()
			return fmt.Errorf("demo: -crm %q is not salesforce or c4c", *demoCRM)
		}
		if *demoMailbox != settings.MailboxMicrosoft && *demoMailbox != settings.MailboxGoogle {
			ln.Close()
			return fmt.Errorf("demo: -mailbox %q is not microsoft or google", *demoMailbox)
		}
		world, err := startDemo(ctx, st, q, ringPath, public, *sfAddr, *graphAddr, *idpAddr, *demoCRM, *demoMailbox, log)
		if err != nil {
			ln.Close()
			return fmt.Errorf("demo: %w", err)
		}
		defer world.Close()
		if hooks.demo != nil {
			hooks.demo(world)
		}
		env = append(env, world.Env...)
		crmName := "Salesforce"
		if world.C4C != nil {
			crmName = "SAP Cloud for Customer"
		}
		mailboxName := "Graph"
		if world.Google != nil {
			mailboxName = "Google"
		}
		fmt.Fprintf(stdout, "demo: local %s %s, local %s %s, identity provider %s; demo user synced now\n",
			crmName, world.SalesforceURL, mailboxName, world.GraphURL, world.IdPURL)
	}
	if *keysFile == "" {
		*keysFile = filepath.Join(*data, "host-keys.json")
	}
	keys, err := host.LoadKeys(*keysFile, host.Keys{Function: getenv(settings.NameFunctionKey), Admin: getenv(settings.NameAdminKey)})
	if err != nil {
		return err
	}
	// The handler accepts the host's keys too, for the operator's status
	// page (an anonymous route whose handler checks the key itself).
	env = append(env, settings.NameFunctionKey+"="+keys.Function, settings.NameAdminKey+"="+keys.Admin)
	h, err := host.New(host.Config{App: app, Queue: q, Keys: keys, Listener: ln, Log: log,
		HandlerEnv: env, HandlerOutput: stderr, PublicURL: public})
	if err != nil {
		ln.Close()
		return err
	}
	if err := h.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(stdout, "crmsync is running: %s  (storage: %s; function keys in %s; Ctrl-C stops)\n", h.URL(), describeStorage(st), *keysFile)
	if hooks.started != nil {
		hooks.started(h)
	}
	<-ctx.Done()
	log.Info("stopping")
	return h.Close()
}

// openQueue opens the queue the host polls; the handler opens the same one.
func openQueue(s settings.Settings) (queue.Queue, func(), error) {
	if s.Storage == settings.StorageEmbedded {
		q, err := queue.OpenEmbedded(s.QueuesPath())
		if err != nil {
			return nil, nil, fmt.Errorf("embedded queue: %w", err)
		}
		return q, func() { closeIfCloser(q) }, nil
	}
	q, err := queue.NewAzure(s.ConnectionString)
	if err != nil {
		return nil, nil, fmt.Errorf("azure queue: %w", err)
	}
	return q, func() {}, nil
}

// startDemo opens the app's table store and key ring and starts the demo world.
func startDemo(ctx context.Context, st settings.Settings, q queue.Queue, ringPath, public, sfAddr, graphAddr, idpAddr, crm, mailbox string, log *slog.Logger) (*demo.World, error) {
	var store tablestore.Store
	if st.Storage == settings.StorageEmbedded {
		s, err := tablestore.OpenEmbedded(st.TablesPath())
		if err != nil {
			return nil, err
		}
		defer s.Close() // provisioning is done once Start returns
		store = s
	} else {
		s, err := tablestore.NewAzure(st.ConnectionString)
		if err != nil {
			return nil, err
		}
		store = s
	}
	ring, err := keyring.OpenFileRing(ringPath)
	if err != nil {
		return nil, err
	}
	listeners := make([]net.Listener, 0, 3)
	for _, a := range []string{sfAddr, graphAddr, idpAddr} {
		l, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return nil, fmt.Errorf("listening on %s: %w", a, err)
		}
		listeners = append(listeners, l)
	}
	return demo.Start(ctx, demo.Options{Store: store, Queue: q, KeyRing: ring, PublicURL: public,
		Salesforce: listeners[0], Graph: listeners[1], IdP: listeners[2], CRM: crm, Mailbox: mailbox, Log: log})
}

// localSecret reads a base64 secret of 32 bytes from path, creating it
// (0600) on first use.
func localSecret(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), host.PrivateFile(path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	key := base64.StdEncoding.EncodeToString(raw)
	return key, os.WriteFile(path, []byte(key), 0o600)
}

// closeIfCloser closes what can be closed; the queue interface does not require it.
func closeIfCloser(x any) {
	if c, ok := x.(io.Closer); ok {
		c.Close()
	}
}

// pack stages the deployable app (and zip).
func pack(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("package", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "dist/app", "app folder to create (emptied first)")
	root := fs.String("root", ".", "repository root")
	native := fs.Bool("native", false, "build the handler for this machine instead of linux/amd64 (for serve)")
	noZip := fs.Bool("nozip", false, "do not write <out>.zip")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := stage.Options{Root: *root, Out: *out, GOOS: "linux", GOARCH: "amd64", Zip: !*noZip, Stderr: stderr}
	if *native {
		o.GOOS, o.GOARCH = runtime.GOOS, runtime.GOARCH
	}
	// A cold handler build takes a minute; say what is happening before it starts.
	fmt.Fprintf(stdout, "staging the function app in %s and building the handler (./functions for %s/%s)…\n", *out, o.GOOS, o.GOARCH)
	app, err := stage.Stage(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "staged %d functions in %s (handler %s/%s)\n", len(app.Functions), *out, o.GOOS, o.GOARCH)
	if o.Zip {
		fmt.Fprintf(stdout, "wrote %s.zip\n", strings.TrimSuffix(*out, "/"))
	}
	return nil
}
