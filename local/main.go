// Command local is crmsync's local and on-premises runtime: it hosts the
// function app the way Azure Functions does (serve), stages a deployable app
// (package), and runs the local Salesforce and Graph servers on their own.
package main

import (
	"context"
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

	"github.com/crmsync/crmsync/local/fakegraph"
	"github.com/crmsync/crmsync/local/fakesalesforce"
	"github.com/crmsync/crmsync/local/host"
	"github.com/crmsync/crmsync/local/stage"
	"github.com/crmsync/crmsync/shared/queue"
	"github.com/crmsync/crmsync/shared/settings"
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

run "local <command> -h" for a command's flags`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "package":
		return pack(ctx, rest, stdout, stderr)
	case "fake-salesforce":
		return fakesalesforce.Main(rest, stdout)
	case "fake-graph":
		return fakegraph.Main(rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

// serve hosts the app until ctx ends.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	appDir := fs.String("app", ".run/app", "staged function app folder (host.json, <function>/function.json, handler binary)")
	addr := fs.String("addr", "127.0.0.1:7071", "address HTTP triggers are served on")
	data := fs.String("data", ".crmsync-data", "folder for embedded storage and the keys file")
	storage := fs.String("storage", "embedded", `"embedded" (SQLite in --data), "azurite" (development storage on its default ports) or an Azure Storage connection string`)
	keysFile := fs.String("keys", "", "function keys file (default <data>/host-keys.json)")
	demo := fs.Bool("demo", false, "mark the instance as a demo (local Salesforce and Graph join when they exist)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

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
	env := []string{settings.NameStorage + "=" + st.Storage, settings.NameLogLevel + "=" + *logLevel}
	if st.Storage == settings.StorageEmbedded {
		abs, err := filepath.Abs(st.DataDir)
		if err != nil {
			return err
		}
		st.DataDir = abs
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return err
		}
		env = append(env, settings.NameDataDir+"="+abs)
	} else {
		env = append(env, settings.NameConnection+"="+st.ConnectionString)
	}
	if *demo {
		env = append(env, settings.NameDemo+"=true")
		log.Info("demo mode: the local Salesforce and Graph servers are not built yet; functions run without demo accounts")
	}
	q, closeQueue, err := openQueue(st)
	if err != nil {
		return err
	}
	defer closeQueue()
	if *keysFile == "" {
		*keysFile = filepath.Join(*data, "host-keys.json")
	}
	keys, err := host.LoadKeys(*keysFile, host.Keys{Function: getenv(settings.NameFunctionKey), Admin: getenv(settings.NameAdminKey)})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	h, err := host.New(host.Config{App: app, Queue: q, Keys: keys, Listener: ln, Log: log,
		HandlerEnv: env, HandlerOutput: stderr})
	if err != nil {
		ln.Close()
		return err
	}
	if err := h.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(stdout, "crmsync is running: %s  (storage: %s; function keys in %s; Ctrl-C stops)\n", h.URL(), describeStorage(st), *keysFile)
	<-ctx.Done()
	log.Info("stopping")
	return h.Close()
}

// DevelopmentConnectionString is Azurite's well-known account on its default
// loopback ports. The Go SDKs do not understand UseDevelopmentStorage=true.
const DevelopmentConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
	"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
	"BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;" +
	"TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"

// storageSettings turns the --storage flag into storage settings.
func storageSettings(flagValue, dataDir string) (settings.Settings, error) {
	switch v := strings.TrimSpace(flagValue); {
	case v == "" || v == settings.StorageEmbedded:
		return settings.Settings{Storage: settings.StorageEmbedded, DataDir: dataDir}, nil
	case v == "azurite" || strings.EqualFold(v, "UseDevelopmentStorage=true"):
		return settings.Settings{Storage: settings.StorageAzure, ConnectionString: DevelopmentConnectionString}, nil
	case strings.Contains(v, "AccountName=") || strings.Contains(v, "QueueEndpoint="):
		return settings.Settings{Storage: settings.StorageAzure, ConnectionString: v}, nil
	}
	return settings.Settings{}, errors.New(`-storage: want "embedded", "azurite" or an Azure Storage connection string (with AccountName= or QueueEndpoint=)`)
}

func describeStorage(s settings.Settings) string {
	if s.Storage == settings.StorageEmbedded {
		return "embedded in " + s.DataDir
	}
	if s.ConnectionString == DevelopmentConnectionString {
		return "Azurite"
	}
	return "Azure Storage"
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
