// Package settings reads crmsync's configuration once, from an injected getenv,
// into a typed struct. Every setting the code reads is listed in Specs, which the
// README's settings table is generated from.
package settings

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
)

// Storage kinds accepted by CRMSYNC_STORAGE.
const (
	// StorageAzure uses Azure Table Storage and Queue Storage (or Azurite) through
	// the connection string in AzureWebJobsStorage.
	StorageAzure = "azure"
	// StorageEmbedded uses one SQLite file per store inside CRMSYNC_DATA_DIR.
	StorageEmbedded = "embedded"
)

// Names of the settings, as environment variables / app settings.
const (
	NamePort          = "FUNCTIONS_CUSTOMHANDLER_PORT"
	NameLambdaRuntime = "AWS_LAMBDA_RUNTIME_API"
	NameStorage       = "CRMSYNC_STORAGE"
	NameConnection    = "AzureWebJobsStorage"
	NameDataDir       = "CRMSYNC_DATA_DIR"
	NameLogLevel      = "CRMSYNC_LOG_LEVEL"
	NameDemo          = "CRMSYNC_DEMO"
	NameFunctionKey   = "CRMSYNC_FUNCTION_KEY"
	NameAdminKey      = "CRMSYNC_ADMIN_KEY"
)

// Spec describes one setting for people and for tools (the README table and the
// Bicep consistency test read it).
type Spec struct {
	Name        string
	Description string
	// Default is the value used when the setting is unset ("" = no default).
	Default string
	// Required is true when the service refuses to start without the setting.
	Required bool
	// RequiredWhen names the condition under which a setting that is not always
	// required must be set ("" = see Required).
	RequiredWhen string
	// Secret marks values that must never be logged or shown.
	Secret bool
}

// Specs lists every setting crmsync reads, in the order the README shows them.
func Specs() []Spec {
	return []Spec{
		{Name: NamePort, Description: "Port the handler listens on (127.0.0.1), set by the Functions host or the local host.", RequiredWhen: "AWS_LAMBDA_RUNTIME_API is unset"},
		{Name: NameLambdaRuntime, Description: "Set by AWS Lambda; when present the handler runs in Lambda mode instead of listening on a port."},
		{Name: NameStorage, Description: "Storage kind: `azure` (Table and Queue Storage, or Azurite) or `embedded` (SQLite files in CRMSYNC_DATA_DIR).", Default: StorageAzure},
		{Name: NameConnection, Description: "Azure Storage connection string for tables and queues (the Functions host uses it too).", RequiredWhen: "CRMSYNC_STORAGE is `azure`", Secret: true},
		{Name: NameDataDir, Description: "Folder holding the embedded SQLite files, shared by the local host and the handler.", RequiredWhen: "CRMSYNC_STORAGE is `embedded`"},
		{Name: NameLogLevel, Description: "Log level: `debug`, `info`, `warn` or `error`.", Default: "info"},
		{Name: NameDemo, Description: "`true` marks a demo instance (set by the local host's `--demo`); the dashboard says so.", Default: "false"},
		{Name: NameFunctionKey, Description: "Local host only: key accepted for `function` auth-level routes (`code` query or `x-functions-key` header). Default: generated into the keys file.", Secret: true},
		{Name: NameAdminKey, Description: "Local host only: key accepted for `function` and `admin` auth-level routes. Default: generated into the keys file.", Secret: true},
	}
}

// Settings is the validated configuration.
type Settings struct {
	// Port is FUNCTIONS_CUSTOMHANDLER_PORT (0 in Lambda mode).
	Port int
	// Lambda is true when AWS_LAMBDA_RUNTIME_API is set.
	Lambda bool
	// Storage is StorageAzure or StorageEmbedded.
	Storage string
	// ConnectionString is AzureWebJobsStorage; never log it.
	ConnectionString string
	// DataDir is CRMSYNC_DATA_DIR.
	DataDir string
	// LogLevel is CRMSYNC_LOG_LEVEL.
	LogLevel slog.Level
	// Demo is CRMSYNC_DEMO.
	Demo bool
	// FunctionKey and AdminKey are the local host's keys ("" = use the keys file).
	FunctionKey string
	AdminKey    string
}

// Load reads and validates every setting. It returns one error naming every
// missing or invalid setting, so an operator fixes them all in one go.
func Load(getenv func(string) string) (Settings, error) {
	var s Settings
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }

	s.Lambda = get(NameLambdaRuntime) != ""
	switch port := get(NamePort); {
	case port == "" && !s.Lambda:
		bad("%s is missing (the port the handler listens on)", NamePort)
	case port != "":
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			bad("%s=%q is not a port number (1-65535)", NamePort, port)
		}
		s.Port = n
	}

	s.Storage = get(NameStorage)
	if s.Storage == "" {
		s.Storage = StorageAzure
	}
	s.ConnectionString = get(NameConnection)
	s.DataDir = get(NameDataDir)
	switch s.Storage {
	case StorageAzure:
		if s.ConnectionString == "" {
			bad("%s is missing (required when %s is %q)", NameConnection, NameStorage, StorageAzure)
		}
	case StorageEmbedded:
		if s.DataDir == "" {
			bad("%s is missing (required when %s is %q)", NameDataDir, NameStorage, StorageEmbedded)
		}
	default:
		bad("%s=%q is not %q or %q", NameStorage, s.Storage, StorageAzure, StorageEmbedded)
	}

	level := get(NameLogLevel)
	if level == "" {
		level = "info"
	}
	if err := s.LogLevel.UnmarshalText([]byte(level)); err != nil {
		bad("%s=%q is not debug, info, warn or error", NameLogLevel, level)
	}

	if demo := get(NameDemo); demo != "" {
		b, err := strconv.ParseBool(demo)
		if err != nil {
			bad("%s=%q is not true or false", NameDemo, demo)
		}
		s.Demo = b
	}
	s.FunctionKey = get(NameFunctionKey)
	s.AdminKey = get(NameAdminKey)

	if len(problems) > 0 {
		return Settings{}, errors.New("settings: " + strings.Join(problems, "; "))
	}
	return s, nil
}

// TablesPath is the embedded table store's SQLite file inside DataDir. The local
// host and the handler both open it, so both must take the name from here.
func (s Settings) TablesPath() string { return filepath.Join(s.DataDir, "tables.sqlite") }

// QueuesPath is the embedded queue's SQLite file inside DataDir.
func (s Settings) QueuesPath() string { return filepath.Join(s.DataDir, "queues.sqlite") }
