package funchost

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Binding is one entry of function.json's "bindings".
type Binding struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Direction  string   `json:"direction"`
	AuthLevel  string   `json:"authLevel,omitempty"`
	Methods    []string `json:"methods,omitempty"`
	Route      string   `json:"route,omitempty"`
	QueueName  string   `json:"queueName,omitempty"`
	Connection string   `json:"connection,omitempty"`
	Schedule   string   `json:"schedule,omitempty"`
	DataType   string   `json:"dataType,omitempty"`
}

// Config is the content of a function.json file.
type Config struct {
	Bindings []Binding `json:"bindings"`
}

// Binding types used in function.json.
const (
	TypeHTTPTrigger  = "httpTrigger"
	TypeHTTP         = "http"
	TypeQueueTrigger = "queueTrigger"
	TypeQueue        = "queue"
	TypeTimerTrigger = "timerTrigger"
)

// Config returns the function.json the function's table row stands for.
func (f Function) Config() Config {
	var c Config
	t := f.Trigger
	switch t.Kind {
	case KindHTTP:
		c.Bindings = append(c.Bindings,
			Binding{Name: t.Binding, Type: TypeHTTPTrigger, Direction: "in", AuthLevel: t.AuthLevel, Methods: t.Methods, Route: t.Route},
			Binding{Name: "res", Type: TypeHTTP, Direction: "out"})
	case KindQueue:
		c.Bindings = append(c.Bindings, Binding{Name: t.Binding, Type: TypeQueueTrigger, Direction: "in", QueueName: t.QueueName, Connection: t.Connection})
	case KindTimer:
		c.Bindings = append(c.Bindings, Binding{Name: t.Binding, Type: TypeTimerTrigger, Direction: "in", Schedule: t.Schedule})
	}
	for _, o := range f.Outputs {
		c.Bindings = append(c.Bindings, Binding{Name: o.Binding, Type: TypeQueue, Direction: "out", QueueName: o.QueueName, Connection: o.Connection})
	}
	return c
}

// ReadConfig reads and validates a function.json file. Errors name the file and
// the offending field, e.g. `functions/x/function.json: bindings[0].queueName: missing`.
func ReadConfig(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(raw)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes and validates function.json content: exactly one trigger,
// known binding types and directions, the fields each type needs.
func ParseConfig(raw []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("not valid function.json: %w", err)
	}
	if len(c.Bindings) == 0 {
		return Config{}, fmt.Errorf("bindings: missing")
	}
	triggers := 0
	names := map[string]bool{}
	for i, b := range c.Bindings {
		field := func(name string) string { return fmt.Sprintf("bindings[%d].%s", i, name) }
		if b.Name == "" {
			return Config{}, fmt.Errorf("%s: missing", field("name"))
		}
		if names[b.Name] {
			return Config{}, fmt.Errorf("%s: %q used twice", field("name"), b.Name)
		}
		names[b.Name] = true
		wantDir := "out"
		switch b.Type {
		case TypeHTTPTrigger, TypeQueueTrigger, TypeTimerTrigger:
			wantDir = "in"
			triggers++
		case TypeHTTP, TypeQueue:
		default:
			return Config{}, fmt.Errorf("%s: %q is not a supported binding type (httpTrigger, http, queueTrigger, queue, timerTrigger)", field("type"), b.Type)
		}
		if b.Direction != wantDir {
			return Config{}, fmt.Errorf("%s: %q, want %q for type %s", field("direction"), b.Direction, wantDir, b.Type)
		}
		switch b.Type {
		case TypeHTTPTrigger:
			switch b.AuthLevel {
			case AuthAnonymous, AuthFunction, AuthAdmin:
			case "":
				return Config{}, fmt.Errorf("%s: missing", field("authLevel"))
			default:
				return Config{}, fmt.Errorf("%s: %q is not anonymous, function or admin", field("authLevel"), b.AuthLevel)
			}
			for _, m := range b.Methods {
				if !slices.Contains([]string{"get", "post", "put", "patch", "delete", "head", "options"}, strings.ToLower(m)) {
					return Config{}, fmt.Errorf("%s: %q is not an HTTP method", field("methods"), m)
				}
			}
			if _, err := RoutePattern("api", b.Route); err != nil {
				return Config{}, fmt.Errorf("%s: %w", field("route"), err)
			}
		case TypeQueueTrigger, TypeQueue:
			if b.QueueName == "" {
				return Config{}, fmt.Errorf("%s: missing", field("queueName"))
			}
			if !validQueueName(b.QueueName) {
				return Config{}, fmt.Errorf("%s: %q is not a queue name (3-63 lower-case letters, digits and single hyphens)", field("queueName"), b.QueueName)
			}
		case TypeTimerTrigger:
			if b.Schedule == "" {
				return Config{}, fmt.Errorf("%s: missing", field("schedule"))
			}
		}
	}
	if triggers != 1 {
		return Config{}, fmt.Errorf("bindings: %d triggers, want exactly 1", triggers)
	}
	return c, nil
}

// Trigger returns the config's trigger binding.
func (c Config) Trigger() Binding {
	for _, b := range c.Bindings {
		if b.Direction == "in" {
			return b
		}
	}
	return Binding{}
}

// ForwardingEligible reports whether the config has exactly httpTrigger-in and http-out.
func (c Config) ForwardingEligible() bool {
	return len(c.Bindings) == 2 && c.Trigger().Type == TypeHTTPTrigger &&
		slices.ContainsFunc(c.Bindings, func(b Binding) bool { return b.Type == TypeHTTP })
}

// validQueueName applies Azure's queue naming rule.
func validQueueName(s string) bool {
	if len(s) < 3 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
