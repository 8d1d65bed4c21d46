package addin

import "net/http"

// CRMInfo answers GET /crm: what the pane needs to know of the caller's CRM
// to word itself and to offer only what the CRM can do.
type CRMInfo struct {
	// Name is the CRM's display name ("Salesforce", "SAP Cloud for
	// Customer"), as the connector names its vendor.
	Name string `json:"name"`
	// Feed says the CRM has a record feed the pane can post to (Salesforce's
	// Chatter); without one the pane offers no post.
	Feed bool `json:"feed"`
	// Relate says a shared e-mail can be related to a record the user
	// picks (the pane's "Related to": Salesforce's Task.WhatId); without it
	// the pane offers no choice and the CRM relates the e-mail itself.
	Relate bool `json:"relate"`
	// FileOn lists the objects a file can be filed on (C4C: contacts and
	// accounts); empty means any record.
	FileOn []string `json:"fileOn,omitempty"`
	// Labels are the CRM's own words for the add-in's objects where they
	// differ from the object name (C4C calls its Cases tickets).
	Labels map[string]string `json:"labels,omitempty"`
	// Category is the mailbox category that shares an item into the CRM
	// (Config.ShareCategory, "Salesforce" when unset).
	Category string `json:"category"`
}

// FeedTeller is implemented by a CRM that can say whether it has a record
// feed; a CRM without the method has one (Salesforce's Chatter).
type FeedTeller interface {
	HasFeed() bool
}

// RelateTeller is implemented by a CRM that can say whether a shared
// e-mail can be related to a record the user picks; a CRM without the
// method can (Salesforce).
type RelateTeller interface {
	RelatesShares() bool
}

// FileTeller is implemented by a CRM that keeps files on some objects
// only; a CRM without the method files on any record (Salesforce).
type FileTeller interface {
	FileObjects() []string
}

// Labeler is implemented by a CRM whose words for the add-in's objects
// differ from the object names (object name → label).
type Labeler interface {
	ObjectLabels() map[string]string
}

// defaultCRMName is CRMInfo.Name when Config.CRMName is unset.
const defaultCRMName = "the CRM"

// defaultShareCategory is CRMInfo.Category when Config.ShareCategory is
// unset: the category sync looks for by default (reconcile.DefaultShareCategory).
const defaultShareCategory = "Salesforce"

// crmInfo answers GET /crm. It opens the caller's CRM (so a missing
// connection answers as every CRM route does) but calls it for nothing.
func (a *API) crmInfo(w http.ResponseWriter, r *http.Request) {
	crm, ok := a.openCRM(w, r)
	if !ok {
		return
	}
	info := CRMInfo{Name: a.cfg.CRMName, Feed: true, Relate: true, Category: a.cfg.ShareCategory}
	if info.Name == "" {
		info.Name = defaultCRMName
	}
	if info.Category == "" {
		info.Category = defaultShareCategory
	}
	if f, ok := crm.(FeedTeller); ok {
		info.Feed = f.HasFeed()
	}
	if r, ok := crm.(RelateTeller); ok {
		info.Relate = r.RelatesShares()
	}
	if f, ok := crm.(FileTeller); ok {
		info.FileOn = f.FileObjects()
	}
	if l, ok := crm.(Labeler); ok {
		info.Labels = l.ObjectLabels()
	}
	writeJSON(w, http.StatusOK, info)
}
