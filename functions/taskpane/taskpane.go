// Package taskpane is the HTTP function behind the Outlook add-in's pages
// (shared/taskpane): the manifests generated for this deployment, the task
// pane, its sign-in dialog and, in demo mode, the simulated Outlook page.
package taskpane

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/crmsync/crmsync/shared/c4c"
	"github.com/crmsync/crmsync/shared/salesforce"
	"github.com/crmsync/crmsync/shared/settings"
	"github.com/crmsync/crmsync/shared/taskpane"
)

// Config builds the task pane's configuration from the service settings:
// the manifests point at the public URL, the sign-in dialog uses the Entra
// app registration, and the pane asks for the add-in API's scope.
func Config(s settings.Settings) taskpane.Config {
	resource := ""
	if len(s.AddinAudiences) > 0 {
		resource = s.AddinAudiences[0]
	}
	scope := s.AddinScope
	if resource != "" && !strings.Contains(scope, "/") {
		scope = strings.TrimSuffix(resource, "/") + "/" + scope
	}
	cfg := taskpane.Config{
		Deployment: taskpane.Deployment{BaseURL: s.PublicURL, ClientID: s.EntraClientID, Resource: resource},
		Authority:  s.EntraAuthority, ClientID: s.EntraClientID, ClientSecret: s.EntraClientSecret, Scope: scope,
		FrameAncestors: s.AddinOrigins, Demo: s.Demo, CRMName: salesforce.Connector.Name, Feed: "Chatter",
	}
	if s.CRM == settings.CRMC4C {
		cfg.CRMName, cfg.Feed = c4c.Connector.Name, "" // C4C has no record feed
	}
	return cfg
}

// New returns the task pane function; a configuration it cannot serve
// answers 503 with the reason.
func New(cfg taskpane.Config) http.Handler {
	h, err := taskpane.New(cfg)
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, fmt.Sprintf("the task pane is not configured: %v", err), http.StatusServiceUnavailable)
		})
	}
	return h
}
