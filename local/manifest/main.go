// Command manifest writes crmsync's Outlook add-in manifests for a
// deployment (`make manifest URL=https://…`): the add-in-only manifest
// (manifest.xml) and, for an https deployment, the unified manifest
// (manifest.json) with its two package icons. A running crmsync serves the
// same files at /api/taskpane/manifest.xml and /api/taskpane/manifest.json.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/crmsync/crmsync/shared/taskpane"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "manifest:", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("manifest", flag.ContinueOnError)
	base := fs.String("url", getenv("CRMSYNC_PUBLIC_URL"), "the deployment's public URL (default $CRMSYNC_PUBLIC_URL)")
	client := fs.String("client-id", getenv("CRMSYNC_ENTRA_CLIENT_ID"), "the add-in's Entra application id (default $CRMSYNC_ENTRA_CLIENT_ID)")
	resource := fs.String("resource", "", "the API's application id URI (default api://<host>/<client id> when a client id is given)")
	out := fs.String("out", "dist/manifest", "folder to write into")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" {
		return fmt.Errorf("give the deployment's URL: make manifest URL=https://<app>.azurewebsites.net (or set CRMSYNC_PUBLIC_URL)")
	}
	d := taskpane.Deployment{BaseURL: *base, ClientID: *client, Resource: *resource}
	xml, err := taskpane.XML(d)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{"manifest.xml": xml}
	if unified, err := taskpane.Unified(d); err != nil {
		fmt.Fprintln(stdout, "no unified manifest:", err)
	} else {
		files["manifest.json"] = unified
		files["color.png"] = taskpane.Icon(192, false)
		files["outline.png"] = taskpane.Icon(32, true)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(*out, name), b, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", filepath.Join(*out, name))
	}
	return nil
}
