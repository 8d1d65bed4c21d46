package msgraph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/crmsync/crmsync/shared/fault"
)

// Default container names (DESIGN.md, default sync rules).
const (
	DefaultContactFolder = "Business Contacts"
	DefaultTaskList      = "Business Tasks"
	DefaultShareFolder   = "Salesforce Emails"
	DefaultShareCategory = "Salesforce"
	DefaultIssueCategory = "Sync Error"
)

// ensureFolder finds the container named name under collection (contact
// folders, mail folders, To Do lists) or creates it, and returns its id.
// filter says whether the collection supports $filter on displayName (To Do
// lists are listed whole: users have few).
func (c *Client) ensureFolder(ctx context.Context, collection, name string, filter bool) (string, error) {
	path := c.mailbox() + "/" + collection
	find := func() (string, error) {
		listPath := path
		if filter {
			listPath += "?$filter=" + escapeQuery("displayName eq "+q(name))
		}
		raw, err := c.list(ctx, listPath)
		if err != nil {
			return "", err
		}
		for _, r := range raw {
			var f wireFolder
			if err := json.Unmarshal(r, &f); err != nil {
				return "", malformed(collection, err)
			}
			if strings.EqualFold(f.DisplayName, name) {
				return f.ID, nil
			}
		}
		return "", nil
	}
	if id, err := find(); err != nil || id != "" {
		return id, err
	}
	var created wireFolder
	err := c.sendJSON(ctx, http.MethodPost, path, wireFolder{DisplayName: name}, &created)
	if isConflict(err) {
		// Another session created it between our look and our create.
		id, ferr := find()
		if ferr == nil && id != "" {
			return id, nil
		}
	}
	if err != nil {
		return "", err
	}
	if created.ID == "" {
		return "", malformed(collection, errMissingID)
	}
	return created.ID, nil
}

// EnsureCategories adds the named categories to the mailbox's master
// category list when missing (Outlook shows items' categories only when the
// master list knows them).
func (c *Client) EnsureCategories(ctx context.Context, names ...string) error {
	path := c.mailbox() + "/outlook/masterCategories"
	raw, err := c.list(ctx, path)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, r := range raw {
		var cat wireCategory
		if err := json.Unmarshal(r, &cat); err != nil {
			return malformed("masterCategories", err)
		}
		have[strings.ToLower(cat.DisplayName)] = true
	}
	colors := []string{"preset7", "preset0"}
	for i, n := range names {
		if have[strings.ToLower(n)] {
			continue
		}
		err := c.sendJSON(ctx, http.MethodPost, path, wireCategory{DisplayName: n, Color: colors[i%len(colors)]}, nil)
		if err != nil && !isConflict(err) {
			return err
		}
		// Added (by us, or by another session between our look and our
		// add: the conflict): a name given twice is added once.
		have[strings.ToLower(n)] = true
	}
	return nil
}

// isConflict reports whether Graph refused a create because the name exists.
func isConflict(err error) bool {
	var fe *fault.Error
	return errors.As(err, &fe) && (fe.Code == "ErrorFolderExists" || fe.Code == http.StatusText(http.StatusConflict))
}

const errMissingID = batchError("created item has no id")
