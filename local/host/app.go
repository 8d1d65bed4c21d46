package host

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/crmsync/crmsync/local/ncrontab"
	"github.com/crmsync/crmsync/shared/funchost"
)

// App is a function app folder as the Functions host sees it: host.json, one
// folder per function holding its function.json, and the handler executable.
type App struct {
	Dir       string
	Settings  Settings
	Functions []AppFunction
}

// AppFunction is one function of the app.
type AppFunction struct {
	Name   string
	Config funchost.Config
	// Schedule is set for timer functions.
	Schedule *ncrontab.Schedule
}

// Trigger returns the function's trigger binding.
func (f AppFunction) Trigger() funchost.Binding { return f.Config.Trigger() }

// LoadApp reads host.json and every <dir>/<function>/function.json and
// validates them all; an error names the file and the field at fault.
func LoadApp(dir string) (*App, error) {
	// The handler runs in the app folder; an absolute path keeps the
	// executable's path right from there.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s, err := ReadHostJSON(dir)
	if err != nil {
		return nil, err
	}
	app := &App{Dir: dir, Settings: s}
	paths, err := filepath.Glob(filepath.Join(dir, "*", "function.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: no <function>/function.json folders", dir)
	}
	for _, p := range paths {
		c, err := funchost.ReadConfig(p)
		if err != nil {
			return nil, err
		}
		f := AppFunction{Name: filepath.Base(filepath.Dir(p)), Config: c}
		for i, b := range c.Bindings {
			if b.Type == funchost.TypeTimerTrigger {
				if f.Schedule, err = ncrontab.Parse(b.Schedule); err != nil {
					return nil, fmt.Errorf("%s: bindings[%d].schedule: %w", p, i, err)
				}
			}
			if b.Type == funchost.TypeHTTPTrigger {
				if _, err := funchost.RoutePatterns(s.RoutePrefix, b.Route); err != nil {
					return nil, fmt.Errorf("%s: bindings[%d].route: %w", p, i, err)
				}
			}
		}
		app.Functions = append(app.Functions, f)
	}
	return app, nil
}

// ExecutablePath is the handler executable, relative paths taken from the app folder.
func (a *App) ExecutablePath() string {
	if filepath.IsAbs(a.Settings.Executable) {
		return a.Settings.Executable
	}
	return filepath.Join(a.Dir, a.Settings.Executable)
}

// WorkingDir is the handler's working directory (default: the app folder).
func (a *App) WorkingDir() string {
	switch wd := a.Settings.WorkingDirectory; {
	case wd == "":
		return a.Dir
	case filepath.IsAbs(wd):
		return wd
	default:
		return filepath.Join(a.Dir, wd)
	}
}

// CheckExecutable reports a missing or non-executable handler clearly.
func (a *App) CheckExecutable() error {
	p := a.ExecutablePath()
	st, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: handler executable %s (host.json customHandler.description.defaultExecutablePath) does not exist", a.Dir, p)
	}
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s: handler %s is not an executable file", a.Dir, p)
	}
	return nil
}
