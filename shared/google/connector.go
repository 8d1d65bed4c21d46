package google

import (
	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/shared/connection"
	"github.com/crmsync/crmsync/shared/side"
)

// Provider is the id of a user's stored connection to Google.
const Provider = "google"

// Scopes are the narrowest scopes the side needs: contacts read/write,
// events (not calendar settings), tasks, and gmail.modify (labels on
// messages and full reads of shared ones; gmail.metadata forbids
// format=full).
var Scopes = []string{
	"https://www.googleapis.com/auth/contacts",
	"https://www.googleapis.com/auth/calendar.events",
	"https://www.googleapis.com/auth/tasks",
	"https://www.googleapis.com/auth/gmail.modify",
}

// Connector is the Google Workspace mailbox connector.
var Connector = side.Connector{
	Provider: Provider,
	Name:     "Google Workspace",
	Role:     side.MailboxRole,
	Flows:    []string{string(connection.FlowAuthCode), string(connection.FlowJWTBearer)},
	Tables: []side.Table{
		{Name: MailboxTable, Why: "google.MailboxIndex.Forget: keyed fingerprints of Gmail addresses (Pub/Sub push) → user, plus a user row"},
		{Name: DelegationTable, Why: "no user rows: organisation admins' sealed service account keys per Workspace domain (google.Delegations), removed by the admin"},
	},
}

// OAuthConfig is the user OAuth configuration of a Google client: Google's
// endpoints (or tokenURL/authURL of a local Google when set), offline
// access for a refresh token, and Scopes.
func OAuthConfig(clientID, secret, authURL, tokenURL string) *oauth2.Config {
	if authURL == "" {
		authURL = "https://accounts.google.com/o/oauth2/v2/auth"
	}
	if tokenURL == "" {
		tokenURL = "https://oauth2.googleapis.com/token"
	}
	return &oauth2.Config{ClientID: clientID, ClientSecret: secret, Scopes: Scopes,
		Endpoint: oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}}
}
