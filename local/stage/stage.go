// Package stage builds a deployable function app folder from the repository:
// host.json, one flat <function>/function.json folder per function, and the
// custom-handler binary named as host.json says; optionally zipped.
package stage

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/crmsync/crmsync/local/host"
)

// Options say what to stage.
type Options struct {
	// Root is the repository root (holding host.json and functions/).
	Root string
	// Out is the app folder to create; it is emptied first.
	Out string
	// GOOS and GOARCH pick the handler's platform (Azure: linux/amd64).
	GOOS, GOARCH string
	// Zip also writes Out+".zip".
	Zip bool
	// Stderr receives the go build output.
	Stderr io.Writer
}

// Stage creates the app folder and checks it loads as the local host would load
// it. It returns the loaded app.
func Stage(ctx context.Context, o Options) (*host.App, error) {
	settings, err := host.ReadHostJSON(o.Root)
	if err != nil {
		return nil, err
	}
	fnDirs, err := filepath.Glob(filepath.Join(o.Root, "functions", "*", "function.json"))
	if err != nil {
		return nil, err
	}
	if len(fnDirs) == 0 {
		return nil, fmt.Errorf("%s: no functions/<name>/function.json", o.Root)
	}
	if err := os.RemoveAll(o.Out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	if err := copyFile(filepath.Join(o.Root, "host.json"), filepath.Join(o.Out, "host.json"), 0o644); err != nil {
		return nil, err
	}
	for _, p := range fnDirs {
		name := filepath.Base(filepath.Dir(p))
		if err := os.MkdirAll(filepath.Join(o.Out, name), 0o755); err != nil {
			return nil, err
		}
		if err := copyFile(p, filepath.Join(o.Out, name, "function.json"), 0o644); err != nil {
			return nil, err
		}
	}
	bin, err := filepath.Abs(filepath.Join(o.Out, settings.Executable))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./functions")
	cmd.Dir = o.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+o.GOOS, "GOARCH="+o.GOARCH)
	cmd.Stdout, cmd.Stderr = o.Stderr, o.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building the handler for %s/%s: %w", o.GOOS, o.GOARCH, err)
	}
	app, err := host.LoadApp(o.Out)
	if err != nil {
		return nil, fmt.Errorf("staged app does not load: %w", err)
	}
	if err := app.CheckExecutable(); err != nil {
		return nil, err
	}
	if o.Zip {
		if err := zipDir(o.Out, strings.TrimSuffix(o.Out, string(filepath.Separator))+".zip"); err != nil {
			return nil, err
		}
	}
	return app, nil
}

func copyFile(src, dst string, mode fs.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// zipDir writes every file under dir into a zip at its relative path, keeping
// the executable bit (Azure's zip deploy honours it for the handler).
func zipDir(dir, zipPath string) error {
	f, err := os.Create(zipPath)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.Method = zip.Deflate
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		return err
	})
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
